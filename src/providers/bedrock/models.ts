/**
 * Bedrock model ids: foundation models (`anthropic.claude-sonnet-4-5-20250929-v1:0`, `amazon.nova-pro-v1:0`),
 * cross-region inference profiles (`us.…`, `eu.…`, `apac.…`, `global.…`), and ARNs of either
 * (`arn:aws:bedrock:us-east-1::foundation-model/…`, `…:inference-profile/us.anthropic.…`).
 */

/** Model vendors on Bedrock: a bare id starting with one of these (after an optional geography) is Bedrock's. */
const VENDORS = [
  "anthropic",
  "amazon",
  "meta",
  "mistral",
  "cohere",
  "ai21",
  "deepseek",
  "openai",
  "qwen",
  "writer",
  "twelvelabs",
  "stability",
  "luma",
  "moonshot",
  "minimax",
  "google",
  "nvidia",
];
const GEOGRAPHIES = ["us", "eu", "apac", "global", "jp", "au", "ca", "us-gov"];

/** Bare names that resolve to a Bedrock provider (providers/presets.ts). */
export const BEDROCK_MODEL_PATTERNS: readonly RegExp[] = [
  new RegExp(`^(?:(?:${GEOGRAPHIES.join("|")})\\.)?(?:${VENDORS.join("|")})\\.[a-z0-9]`),
  /^arn:aws[a-z-]*:bedrock:/,
];

/** The id after an ARN's resource type (`…:inference-profile/us.anthropic.…` → `us.anthropic.…`). */
function withoutArn(model: string): string {
  return model.startsWith("arn:") ? model.slice(model.lastIndexOf("/") + 1) : model;
}

/**
 * An Anthropic model, served through InvokeModel with an Anthropic Messages body. An application inference
 * profile's ARN does not say which model it points at: it is treated as another model (Converse serves every model).
 */
export function isAnthropicBedrockModel(model: string): boolean {
  return /(?:^|\.)anthropic\.claude/.test(withoutArn(model));
}

/**
 * The Anthropic API's name for a Bedrock Claude id: `us.anthropic.claude-sonnet-4-5-20250929-v1:0` →
 * `claude-sonnet-4-5-20250929`. Null when the id is not an Anthropic model.
 */
export function anthropicModelName(model: string): string | null {
  if (!isAnthropicBedrockModel(model)) return null;
  const id = withoutArn(model);
  const at = id.indexOf("anthropic.");
  return id.slice(at + "anthropic.".length).replace(/-v\d+(?::\d+)?$/, "");
}

/** `https://bedrock-runtime.eu-west-1.amazonaws.com` → `eu-west-1`; null for any other URL (a proxy, a mock). */
export function regionOfBaseUrl(baseUrl: string): string | null {
  return /^https?:\/\/bedrock-runtime(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:[:/]|$)/.exec(baseUrl)?.[1] ?? null;
}

/** The default endpoint of a region. */
export function bedrockBaseUrl(region: string): string {
  return `https://bedrock-runtime.${region}.amazonaws.com`;
}
