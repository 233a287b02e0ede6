/** One problem with one input field: `path` names the field (e.g. `["teamId"]`). */
export interface FieldIssue {
  path: string[];
  message: string;
}

export type GovernanceErrorKind = "invalid" | "not_found" | "conflict";

/**
 * A refused governance change. The API answers `invalid` with 400 (and the field issues), `not_found` with 404,
 * `conflict` with 409; callers match on `kind`, never on message text.
 */
export class GovernanceError extends Error {
  override name = "GovernanceError";
  readonly kind: GovernanceErrorKind;
  readonly issues: readonly FieldIssue[];
  constructor(kind: GovernanceErrorKind, message: string, issues: readonly FieldIssue[] = []) {
    super(message);
    this.kind = kind;
    this.issues = issues;
  }
}

/** 400 for one field, e.g. a reference to a team that does not exist. */
export function invalidField(field: string, message: string): GovernanceError {
  return new GovernanceError("invalid", `${field}: ${message}`, [{ path: [field], message }]);
}

export function notFound(what: string, id: string): GovernanceError {
  return new GovernanceError("not_found", `No ${what} "${id}".`);
}

export function conflict(message: string): GovernanceError {
  return new GovernanceError("conflict", message);
}
