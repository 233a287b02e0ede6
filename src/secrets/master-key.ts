import { randomBytes, scrypt } from "node:crypto";
import { chmod, link, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { KEY_BYTES, SecretBox } from "./secret-box.ts";

/** The key file's name in the data dir: a file of its own, so a copy of the database alone reveals no secret. */
export const KEY_FILE_NAME = "secret.key";

/** Where the key came from: given raw, derived from a passphrase, or the data dir's key file. */
export type MasterKeySource = "env" | "env-passphrase" | "file";

export interface MasterKey {
  key: Buffer;
  source: MasterKeySource;
  /** The key file, when the key lives in one. */
  path: string | null;
  /** True when the key file was created by this call. */
  created: boolean;
}

export interface MasterKeyOptions {
  /** `TOLLGATE_ENCRYPTION_KEY` (GatewayConfig.encryptionKey); null → the key file. */
  encryptionKey: string | null;
  dataDir: string;
  /** Operator warnings (a key file others can read). */
  warn?: (message: string) => void;
}

// A fixed salt: the key must be re-derivable from the environment variable alone, with nothing stored beside it.
// The salt only separates Tollgate's derivation from other uses of the same passphrase.
const PASSPHRASE_SALT = "tollgate:TOLLGATE_ENCRYPTION_KEY:v1";
// scrypt cost (N = 2^15, r = 8, p = 1): ~50–100 ms once at start-up; needs 32 MiB, hence the higher maxmem.
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

/**
 * The 32-byte key in an `TOLLGATE_ENCRYPTION_KEY` value: 64 hex characters, or base64/base64url of exactly 32 bytes,
 * are the key itself (generate one with `openssl rand -hex 32`). Any other string is a passphrase, stretched with
 * scrypt (fixed salt, parameters above).
 */
export async function keyFromSetting(value: string): Promise<{ key: Buffer; derived: boolean }> {
  const raw = decodeRawKey(value.trim());
  if (raw) return { key: raw, derived: false };
  if (value.length === 0) throw new Error("TOLLGATE_ENCRYPTION_KEY is empty");
  const key = await new Promise<Buffer>((resolve, reject) =>
    scrypt(value, PASSPHRASE_SALT, KEY_BYTES, SCRYPT, (err, derived) => (err ? reject(err) : resolve(derived))),
  );
  return { key, derived: true };
}

/** A raw 32-byte key written as hex or base64(url); null when the text is neither. */
export function decodeRawKey(text: string): Buffer | null {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, "hex");
  // 32 bytes are 43 base64 characters plus one "=" of padding (optional).
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) {
    const key = Buffer.from(text.replaceAll("-", "+").replaceAll("_", "/"), "base64");
    if (key.length === KEY_BYTES) return key;
  }
  return null;
}

/**
 * The master key: from `encryptionKey` when set; otherwise from `<dataDir>/secret.key`, which is created (mode 0600,
 * random 32 bytes, base64url) the first time a key is needed and reused afterwards.
 */
export async function loadMasterKey(options: MasterKeyOptions): Promise<MasterKey> {
  if (options.encryptionKey !== null && options.encryptionKey !== "") {
    const { key, derived } = await keyFromSetting(options.encryptionKey);
    return { key, source: derived ? "env-passphrase" : "env", path: null, created: false };
  }
  const path = join(options.dataDir, KEY_FILE_NAME);
  const existing = await readKeyFile(path, options.warn);
  if (existing) return { key: existing, source: "file", path, created: false };

  const key = randomBytes(KEY_BYTES);
  await mkdir(options.dataDir, { recursive: true });
  // Write a private temp file, then hard-link it into place: the key file appears complete or not at all, and a
  // key another process created a moment ago is never overwritten (that would orphan its ciphertexts).
  const temp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await writeFile(temp, `${key.toString("base64url")}\n`, { mode: 0o600, flag: "wx" });
    await chmod(temp, 0o600); // the mode given to writeFile is filtered by the umask; make it exact
    await link(temp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    const raced = await readKeyFile(path, options.warn);
    if (raced) return { key: raced, source: "file", path, created: false };
    throw err;
  } finally {
    await rm(temp, { force: true });
  }
  return { key, source: "file", path, created: true };
}

/** A SecretBox keyed as `loadMasterKey` decides. */
export async function openSecretBox(options: MasterKeyOptions): Promise<{ box: SecretBox; masterKey: MasterKey }> {
  const masterKey = await loadMasterKey(options);
  return { box: new SecretBox(masterKey.key), masterKey };
}

async function readKeyFile(path: string, warn: ((message: string) => void) | undefined): Promise<Buffer | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new Error(`cannot read the encryption key file ${path}: ${(err as Error).message}`);
  }
  const key = decodeRawKey(text.trim());
  if (!key) {
    throw new Error(`the encryption key file ${path} does not hold a 32-byte key (base64url or 64 hex characters)`);
  }
  if (warn && process.platform !== "win32") {
    const { mode } = await stat(path);
    if ((mode & 0o077) !== 0) {
      warn(
        `the encryption key file ${path} is readable by other users (mode ${(mode & 0o777).toString(8)}); run chmod 600 on it`,
      );
    }
  }
  return key;
}
