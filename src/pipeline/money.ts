/** Integer nano-dollars → an exact decimal dollar string ("0.000123450"), no floating point involved. */
export function formatUsd(nano: number): string {
  const sign = nano < 0 ? "-" : "";
  const abs = BigInt(Math.abs(Math.trunc(nano)));
  const whole = abs / 1_000_000_000n;
  const frac = (abs % 1_000_000_000n).toString().padStart(9, "0");
  return `${sign}${whole}.${frac}`;
}
