/** Exit statuses shared by the commands; scripts can tell the problems apart. */
export const EXIT = {
  ok: 0,
  /** Anything not listed below. */
  failure: 1,
  /** Bad command line: unknown command or option, invalid value. */
  usage: 2,
  /** The gateway could not be reached. */
  unreachable: 3,
  /** The key was refused (401/403). */
  unauthorized: 4,
  /** A budget of the key is exhausted (402). */
  budgetExhausted: 5,
  /** The gateway is up but its upstream provider is not (502/504/503). */
  upstream: 6,
} as const;

/** An expected failure: its message is printed as is (no stack) and the process exits with `exitCode`. */
export class CliError extends Error {
  override name = "CliError";
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.failure) {
    super(message);
    this.exitCode = exitCode;
  }
}
