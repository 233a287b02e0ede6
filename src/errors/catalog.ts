/**
 * The one error catalog. Every error Tollgate itself produces has a stable code, an HTTP status and a kind that
 * each dialect maps onto its own error type names. Callers match on `code`, never on message text.
 */
export type ErrorKind =
  | "invalid_request"
  | "authentication"
  | "permission"
  | "not_found"
  | "payload_too_large"
  | "rate_limited"
  | "budget_exhausted"
  | "upstream_error"
  | "upstream_unavailable"
  | "upstream_timeout"
  | "internal";

export interface ErrorDefinition {
  status: number;
  kind: ErrorKind;
}

export const ERROR_CATALOG = {
  TG_INVALID_JSON: { status: 400, kind: "invalid_request" },
  TG_INVALID_BODY: { status: 400, kind: "invalid_request" },
  TG_MISSING_MODEL: { status: 400, kind: "invalid_request" },
  TG_UNKNOWN_MODEL: { status: 400, kind: "invalid_request" },
  TG_UNKNOWN_PROVIDER: { status: 400, kind: "invalid_request" },
  TG_CROSS_DIALECT_UNSUPPORTED: { status: 400, kind: "invalid_request" },
  /** The request cannot be expressed in the provider's dialect (a feature the target lacks, stored state …). */
  TG_TRANSLATION: { status: 400, kind: "invalid_request" },
  TG_UNSUPPORTED_MEDIA_TYPE: { status: 415, kind: "invalid_request" },
  TG_BODY_TOO_LARGE: { status: 413, kind: "payload_too_large" },
  TG_UNAUTHORIZED: { status: 401, kind: "authentication" },
  TG_FORBIDDEN: { status: 403, kind: "permission" },
  TG_BUDGET_EXHAUSTED: { status: 402, kind: "budget_exhausted" },
  TG_RATE_LIMITED: { status: 429, kind: "rate_limited" },
  TG_SESSION_CAP: { status: 429, kind: "rate_limited" },
  TG_UNKNOWN_PRICE: { status: 400, kind: "invalid_request" },
  /** Redis counters unreachable with the fail-closed policy: budgets cannot be checked, so nothing is admitted. */
  TG_COUNTERS_UNAVAILABLE: { status: 503, kind: "upstream_unavailable" },
  TG_NOT_FOUND: { status: 404, kind: "not_found" },
  TG_NO_PROVIDER_KEY: { status: 503, kind: "upstream_unavailable" },
  /** The provider's circuit breaker is open after repeated failures, and no fallback is left. */
  TG_PROVIDER_CIRCUIT_OPEN: { status: 503, kind: "upstream_unavailable" },
  /** The provider's own credentials could not be turned into an access token (Vertex AI's token endpoint refused). */
  TG_PROVIDER_AUTH: { status: 502, kind: "upstream_error" },
  TG_UPSTREAM_UNREACHABLE: { status: 502, kind: "upstream_error" },
  TG_UPSTREAM_RESET: { status: 502, kind: "upstream_error" },
  TG_UPSTREAM_TIMEOUT: { status: 504, kind: "upstream_timeout" },
  TG_UPSTREAM_BAD_RESPONSE: { status: 502, kind: "upstream_error" },
  TG_UPSTREAM_STREAM_INCOMPLETE: { status: 502, kind: "upstream_error" },
  /** The client went away before the response ended (nginx's 499); only ever logged, never sent. */
  TG_CLIENT_CLOSED: { status: 499, kind: "invalid_request" },
  TG_INTERNAL: { status: 500, kind: "internal" },
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

/** An error Tollgate answers itself, rendered in the client's dialect by dialects/<family>/errors.ts. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly kind: ErrorKind;
  /** Extra response headers (e.g. retry-after). */
  readonly headers: Record<string, string>;
  constructor(code: ErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = "GatewayError";
    this.code = code;
    this.status = ERROR_CATALOG[code].status;
    this.kind = ERROR_CATALOG[code].kind;
    this.headers = headers;
  }
}
