/**
 * The counter backend could not be reached (connection refused or lost, command timeout, Redis loading or
 * read-only after a failover). A fail-closed store throws it; the admission step maps it to a 503. A fail-open
 * store answers `degraded: true` instead and reports it to `onError`.
 */
export class CountersUnavailableError extends Error {
  readonly code = "COUNTERS_UNAVAILABLE";
  /** The store operation that failed (reserve, commit, hit, …). */
  readonly operation: string;
  constructor(operation: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(`counter store unavailable during ${operation}: ${detail}`, { cause });
    this.name = "CountersUnavailableError";
    this.operation = operation;
  }
}
