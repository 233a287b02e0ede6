import type { IncomingHttpHeaders } from "node:http";

export interface AgentIdentity {
  /** claude-code | codex | gemini-cli | opencode | cursor | anthropic-sdk | openai-sdk | google-genai-sdk | ai-sdk | … */
  name: string;
  version: string | null;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `product/1.2.3 …` → "1.2.3". */
function versionAfter(ua: string, prefix: string): string | null {
  const rest = ua.slice(prefix.length);
  const m = /^[\w.-]*?\/?(\d+\.\d+(?:\.\d+)?[\w.-]*)/.exec(rest);
  return m?.[1] ?? null;
}

/**
 * Names the client from its user agent and the headers each agent is known to send (../shared/CLIENTS.md).
 * Agents first, then SDKs (agents are built on SDKs and would otherwise be reported as one).
 */
export function detectAgent(headers: IncomingHttpHeaders, route: string): AgentIdentity {
  const ua = header(headers, "user-agent") ?? "";
  if (route.startsWith("/cursor/")) return { name: "cursor", version: null };
  if (ua.startsWith("claude-cli/")) return { name: "claude-code", version: versionAfter(ua, "claude-cli/") };
  if (headers["x-claude-code-session-id"] !== undefined) return { name: "claude-code", version: null };
  if (/^codex[_-]/.test(ua)) return { name: "codex", version: /\/(\d[\w.-]*)/.exec(ua)?.[1] ?? null };
  const originator = header(headers, "originator");
  if (originator?.startsWith("codex")) return { name: "codex", version: null };
  if (ua.startsWith("GeminiCLI")) return { name: "gemini-cli", version: /\/(\d+\.\d+[\w.-]*)/.exec(ua)?.[1] ?? null };
  if (ua.startsWith("opencode/")) return { name: "opencode", version: versionAfter(ua, "opencode/") };
  if (/\bCursor\//.test(ua)) return { name: "cursor", version: null };
  if (ua.startsWith("Anthropic/"))
    return { name: "anthropic-sdk", version: /\/(\d[\w.-]*)$/.exec(ua.split(" ")[0] ?? "")?.[1] ?? null };
  if (ua.startsWith("OpenAI/"))
    return { name: "openai-sdk", version: /\/(\d[\w.-]*)$/.exec(ua.split(" ")[0] ?? "")?.[1] ?? null };
  const goog = header(headers, "x-goog-api-client") ?? "";
  if (goog.includes("google-genai-sdk/"))
    return { name: "google-genai-sdk", version: /google-genai-sdk\/(\S+)/.exec(goog)?.[1] ?? null };
  if (ua.includes("ai-sdk/")) return { name: "ai-sdk", version: null };
  if (ua === "") return { name: "unknown", version: null };
  const product = /^([A-Za-z][\w.-]*)(?:\/(\S+))?/.exec(ua);
  return { name: (product?.[1] ?? "unknown").toLowerCase().slice(0, 64), version: product?.[2]?.slice(0, 64) ?? null };
}
