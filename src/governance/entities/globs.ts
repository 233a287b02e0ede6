/**
 * Name patterns of allow-lists: exact names, or globs where `*` matches any run of characters (including none and
 * `/`) and `?` exactly one. Case-sensitive, anchored at both ends. Compiled once per snapshot, never per request.
 */

export interface NameMatcher {
  matches(name: string): boolean;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+^${}()|[\]\\]/g, "\\$&");
}

export function isGlob(pattern: string): boolean {
  return pattern.includes("*") || pattern.includes("?");
}

/** One matcher for a list: a Set lookup for the exact names, one RegExp for all the globs. */
export function compileNameMatcher(patterns: readonly string[]): NameMatcher {
  const exact = new Set<string>();
  const globs: string[] = [];
  for (const pattern of patterns) {
    if (isGlob(pattern)) globs.push(escapeRegExp(pattern).replaceAll("*", ".*").replaceAll("?", "."));
    else exact.add(pattern);
  }
  const regexp = globs.length === 0 ? null : new RegExp(`^(?:${globs.join("|")})$`, "s");
  return { matches: (name) => exact.has(name) || regexp?.test(name) === true };
}
