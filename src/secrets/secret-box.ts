import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/** Bytes of an AES-256 key. */
export const KEY_BYTES = 32;
/** 96-bit IVs: the size GCM is specified for (NIST SP 800-38D); random per encryption. */
const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = "v1";

/** A value that cannot be decrypted: malformed, altered, or encrypted under another key. */
export class SecretBoxError extends Error {
  override name = "SecretBoxError";
}

/**
 * AES-256-GCM for secrets at rest (provider API keys in the database). A sealed value reads
 * `v1:<iv>:<tag>:<ciphertext>`, each part base64url. GCM authenticates, so a wrong key or a changed byte makes
 * `decrypt` throw instead of returning garbage. `context` (associated data, e.g. the row id) binds a value to where
 * it is stored: a ciphertext copied onto another row does not open there.
 */
export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Uint8Array) {
    if (key.length !== KEY_BYTES) throw new Error(`SecretBox needs a ${KEY_BYTES}-byte key, got ${key.length} bytes`);
    this.#key = Buffer.from(key);
  }

  encrypt(plaintext: string, context = ""): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, "utf8"));
    const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, iv.toString("base64url"), tag.toString("base64url"), ciphertext.toString("base64url")].join(":");
  }

  /** The plaintext, or a SecretBoxError that never contains any part of the secret. */
  decrypt(sealed: string, context = ""): string {
    const parts = sealed.split(":");
    if (parts.length !== 4 || parts[0] !== VERSION) {
      throw new SecretBoxError(`not a sealed secret (expected "${VERSION}:<iv>:<tag>:<ciphertext>")`);
    }
    const iv = decodePart(parts[1] ?? "");
    const tag = decodePart(parts[2] ?? "");
    const ciphertext = decodePart(parts[3] ?? "");
    if (iv?.length !== IV_BYTES || tag?.length !== TAG_BYTES || ciphertext === null) {
      throw new SecretBoxError("not a sealed secret (bad iv, tag or ciphertext encoding)");
    }
    const decipher = createDecipheriv("aes-256-gcm", this.#key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(context, "utf8"));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString("utf8");
    } catch {
      throw new SecretBoxError(
        "cannot decrypt: it was encrypted with a different key (TOLLGATE_ENCRYPTION_KEY or the data dir's secret.key changed) or the stored value was altered",
      );
    }
  }
}

function decodePart(part: string): Buffer | null {
  return /^[A-Za-z0-9_-]*$/.test(part) ? Buffer.from(part, "base64url") : null;
}
