/**
 * What an Anthropic model accepts, read from its id. Claude 4.6 introduced adaptive thinking
 * (`thinking: {type: "adaptive"}` with `output_config.effort`); Opus 4.7, Opus 4.8 and the Claude 5 generation
 * (and the Fable / Mythos families) accept only that, and answer 400 to `budget_tokens` thinking and to
 * `temperature` / `top_p` / `top_k`.
 *
 * Ids that do not follow `claude-<family>-<major>[-<minor>]` (custom deployments, other vendors' Anthropic-compatible
 * endpoints, `claude-3-7-sonnet` style) get the older, widest-accepted surface: the API decides.
 */
export interface AnthropicModelTraits {
  adaptiveThinking: boolean;
  adaptiveOnly: boolean;
}

// The minor version is one or two digits, so a date suffix (`claude-opus-4-20250514`) is not read as one.
const MODEL_ID = /claude-([a-z]+)-(\d{1,2})(?:-(\d{1,2}))?(?!\d)/;
const ADAPTIVE_ONLY_FAMILIES = new Set(["fable", "mythos"]);

export function anthropicModelTraits(model: string): AnthropicModelTraits {
  const id = model.toLowerCase();
  const family = /claude-([a-z]+)/.exec(id)?.[1];
  if (family !== undefined && ADAPTIVE_ONLY_FAMILIES.has(family)) return { adaptiveThinking: true, adaptiveOnly: true };
  const match = MODEL_ID.exec(id);
  if (match === null) return { adaptiveThinking: false, adaptiveOnly: false };
  const major = Number(match[2]);
  const minor = Number(match[3] ?? 0);
  if (major >= 5) return { adaptiveThinking: true, adaptiveOnly: true };
  if (major < 4 || minor < 6) return { adaptiveThinking: false, adaptiveOnly: false };
  return { adaptiveThinking: true, adaptiveOnly: match[1] === "opus" && minor >= 7 };
}
