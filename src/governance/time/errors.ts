/** A budget period, rate-limit window or time zone that cannot be used; the message says what to write instead. */
export class PeriodError extends Error {
  override name = "PeriodError";
}
