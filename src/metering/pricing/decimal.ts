/**
 * Exact money arithmetic for prices. A price is "USD per million tokens" written as a decimal (catalog numbers such
 * as 3, 0.3, 3.75, 0.0375 or user strings such as "0.30"). We never multiply those as floats: each is turned into
 * an integer count of nano-dollars (1e-9 USD) per million tokens by reading its shortest decimal representation,
 * which is exact for every price with at most 9 decimals (all catalog prices are).
 */

/** Digits with an optional fraction and an optional (bounded) exponent, as `String(number)` or a person writes them. */
const DECIMAL_RE = /^(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,3}))?$/;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * USD per million tokens → integer nano-USD per million tokens, exactly. Digits beyond the 9th decimal are rounded
 * half-up (a difference of at most 0.5e-9 USD per million tokens). Throws a RangeError for negative, non-finite,
 * malformed or absurdly large (> ~9 million USD per million tokens) values.
 */
export function usdPerMTokToNano(value: string | number): number {
  if (typeof value === "number" && (!Number.isFinite(value) || value < 0)) {
    throw new RangeError(`price must be a finite non-negative number, got ${String(value)}`);
  }
  // String(number) is the shortest representation that round-trips, e.g. String(0.0375) === "0.0375".
  const text = typeof value === "number" ? String(value) : value.trim();
  const match = DECIMAL_RE.exec(text);
  const whole = match?.[1] ?? "";
  const fraction = match?.[2] ?? "";
  if (!match || whole.length + fraction.length === 0) {
    throw new RangeError(
      `price must be a non-negative decimal number such as "3" or "0.30", got ${JSON.stringify(text)}`,
    );
  }
  const exponent = match[3] === undefined ? 0 : Number(match[3]);
  const digits = BigInt(whole + fraction);
  const shift = exponent - fraction.length + 9;
  let nano: bigint;
  if (shift >= 0) {
    nano = digits * 10n ** BigInt(shift);
  } else {
    const divisor = 10n ** BigInt(-shift);
    nano = (digits + divisor / 2n) / divisor; // round half-up; divisor is a power of ten ≥ 10, so /2 is exact
  }
  if (nano > MAX_SAFE) throw new RangeError(`price ${text} USD per million tokens is out of range`);
  return Number(nano);
}

/** Whether `usdPerMTokToNano` accepts the value. */
export function isValidPrice(value: string | number): boolean {
  try {
    usdPerMTokToNano(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * Integer nano-USD → exact decimal USD string without trailing zeros ("0.011175", "3", "0"): for headers, logs
 * and the dashboard, where a float would print 0.011175000000000001.
 */
export function formatNanoUsd(nano: number | bigint): string {
  const value = BigInt(nano);
  const sign = value < 0n ? "-" : "";
  const abs = value < 0n ? -value : value;
  const whole = abs / 1_000_000_000n;
  const fraction = (abs % 1_000_000_000n).toString().padStart(9, "0").replace(/0+$/, "");
  return fraction ? `${sign}${whole}.${fraction}` : `${sign}${whole}`;
}
