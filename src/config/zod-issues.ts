import type { z } from "zod";

/** One line per problem, `path.to.field: message`, for config files and management API 400s. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], separator = "; "): string {
  return issues.map((i) => `${i.path.length > 0 ? i.path.join(".") : "(root)"}: ${i.message}`).join(separator);
}
