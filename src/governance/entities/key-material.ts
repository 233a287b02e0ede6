import { createHash, randomBytes } from "node:crypto";

/**
 * Virtual key secrets: `sk-tg-` + 32 random bytes in base64url (43 characters). Shown once; the database keeps only
 * the hex SHA-256 of the whole secret.
 *
 * Why a plain SHA-256 and not an HMAC with a server pepper: the secret carries 256 bits of randomness, so its hash
 * cannot be reversed or brute-forced — a pepper only helps low-entropy secrets such as passwords. A plain hash also
 * keeps every gateway process (and a config file declaring a key by its hash) able to compute lookups without
 * sharing a pepper file, and a lost data dir never invalidates every key. Slow hashes (bcrypt, scrypt) are wrong
 * here for the same reason: they buy nothing at this entropy and would cost every request.
 */

export const VIRTUAL_KEY_PREFIX = "sk-tg-";
const RANDOM_BYTES = 32;
/** base64url of 32 bytes, without padding. */
const RANDOM_CHARS = 43;
/** How many random characters the display prefix keeps (24 bits of 256: harmless, enough to tell keys apart). */
const SHOWN_CHARS = 4;
const WELL_FORMED = new RegExp(`^${VIRTUAL_KEY_PREFIX}[A-Za-z0-9_-]{${RANDOM_CHARS}}$`);

export interface NewSecret {
  /** The full secret; give it to the caller once, never store it. */
  secret: string;
  hash: string;
  /** `sk-tg-abcd`: what lists show (followed by `…`). */
  prefix: string;
}

export function generateVirtualKeySecret(): NewSecret {
  const secret = VIRTUAL_KEY_PREFIX + randomBytes(RANDOM_BYTES).toString("base64url");
  return { secret, hash: hashVirtualKeySecret(secret), prefix: secretPrefix(secret) };
}

/** Hex SHA-256 of the whole secret (prefix included): the lookup key of the hot path's map. */
export function hashVirtualKeySecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** Whether a presented value has the exact shape of a Tollgate virtual key (cheap; check before hashing). */
export function isWellFormedVirtualKey(value: string): boolean {
  return value.length === VIRTUAL_KEY_PREFIX.length + RANDOM_CHARS && WELL_FORMED.test(value);
}

/** Whether a credential is meant as a virtual key (starts with `sk-tg-`), well formed or not. */
export function looksLikeVirtualKey(value: string): boolean {
  return value.startsWith(VIRTUAL_KEY_PREFIX);
}

export function secretPrefix(secret: string): string {
  return secret.slice(0, VIRTUAL_KEY_PREFIX.length + SHOWN_CHARS);
}
