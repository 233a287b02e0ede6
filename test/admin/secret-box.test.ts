import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { KEY_FILE_NAME, keyFromSetting, loadMasterKey, openSecretBox } from "../../src/secrets/master-key.ts";
import { SecretBox, SecretBoxError } from "../../src/secrets/secret-box.ts";

const SECRET = "sk-ant-api03-very-secret-value-0123456789";

describe("SecretBox", () => {
  const box = new SecretBox(randomBytes(32));

  it("round-trips and writes v1:<iv>:<tag>:<ciphertext> in base64url, without the plaintext", () => {
    const sealed = box.encrypt(SECRET, "row-1");
    assert.match(sealed, /^v1:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{22}:[A-Za-z0-9_-]+$/);
    assert.ok(!sealed.includes(SECRET));
    assert.equal(box.decrypt(sealed, "row-1"), SECRET);
  });

  it("uses a fresh IV each time (same plaintext, different ciphertexts)", () => {
    assert.notEqual(box.encrypt(SECRET), box.encrypt(SECRET));
  });

  it("round-trips the empty string and non-ASCII text", () => {
    assert.equal(box.decrypt(box.encrypt("")), "");
    assert.equal(box.decrypt(box.encrypt("clé-🔑")), "clé-🔑");
  });

  it("detects a changed ciphertext, tag or IV", () => {
    const sealed = box.encrypt(SECRET);
    const [v, iv, tag, ct] = sealed.split(":") as [string, string, string, string];
    const flip = (part: string) => {
      const bytes = Buffer.from(part, "base64url");
      bytes[0] = (bytes[0] ?? 0) ^ 1;
      return bytes.toString("base64url");
    };
    for (const tampered of [
      `${v}:${iv}:${tag}:${flip(ct)}`,
      `${v}:${iv}:${flip(tag)}:${ct}`,
      `${v}:${flip(iv)}:${tag}:${ct}`,
    ]) {
      assert.throws(() => box.decrypt(tampered), SecretBoxError);
    }
  });

  it("refuses a ciphertext moved to another context (row)", () => {
    const sealed = box.encrypt(SECRET, "provider_keys:a:key_1");
    assert.throws(() => box.decrypt(sealed, "provider_keys:b:key_1"), /cannot decrypt/);
  });

  it("fails with a clear error under a wrong key, never revealing the secret", () => {
    const sealed = box.encrypt(SECRET);
    const other = new SecretBox(randomBytes(32));
    assert.throws(
      () => other.decrypt(sealed),
      (err: unknown) => {
        assert.ok(err instanceof SecretBoxError);
        assert.match(err.message, /different key/);
        assert.ok(!err.message.includes(SECRET));
        return true;
      },
    );
  });

  it("rejects malformed values and wrong key sizes", () => {
    assert.throws(() => box.decrypt("plaintext"), /not a sealed secret/);
    assert.throws(() => box.decrypt("v2:a:b:c"), /not a sealed secret/);
    assert.throws(() => box.decrypt("v1:!!:b:c"), /not a sealed secret/);
    assert.throws(() => new SecretBox(randomBytes(16)), /32-byte key/);
  });
});

describe("master key", () => {
  const dirs: string[] = [];
  const tempDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), "tollgate-secrets-"));
    dirs.push(dir);
    return dir;
  };
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("takes 64 hex characters or base64 of 32 bytes as the raw key", async () => {
    const raw = randomBytes(32);
    assert.deepEqual((await keyFromSetting(raw.toString("hex"))).key, raw);
    assert.deepEqual((await keyFromSetting(raw.toString("base64"))).key, raw);
    assert.deepEqual((await keyFromSetting(raw.toString("base64url"))).key, raw);
    assert.equal((await keyFromSetting(raw.toString("hex"))).derived, false);
  });

  it("derives a stable key from any other string (passphrase)", async () => {
    const a = await keyFromSetting("correct horse battery staple");
    const b = await keyFromSetting("correct horse battery staple");
    const c = await keyFromSetting("correct horse battery stapler");
    assert.equal(a.derived, true);
    assert.equal(a.key.length, 32);
    assert.deepEqual(a.key, b.key);
    assert.notDeepEqual(a.key, c.key);
  });

  it("uses TOLLGATE_ENCRYPTION_KEY without touching the data dir", async () => {
    const dir = await tempDir();
    const key = await loadMasterKey({ encryptionKey: "a passphrase", dataDir: dir });
    assert.equal(key.source, "env-passphrase");
    await assert.rejects(stat(join(dir, KEY_FILE_NAME)), { code: "ENOENT" });
  });

  it("creates <dataDir>/secret.key with mode 0600 and reuses it across instances", async () => {
    const dir = await tempDir();
    const first = await openSecretBox({ encryptionKey: null, dataDir: dir });
    assert.equal(first.masterKey.created, true);
    assert.equal(first.masterKey.path, join(dir, KEY_FILE_NAME));
    if (process.platform !== "win32") assert.equal((await stat(join(dir, KEY_FILE_NAME))).mode & 0o777, 0o600);
    const sealed = first.box.encrypt(SECRET);

    const second = await openSecretBox({ encryptionKey: null, dataDir: dir });
    assert.equal(second.masterKey.created, false);
    assert.equal(second.box.decrypt(sealed), SECRET);
    assert.ok(!(await readFile(join(dir, KEY_FILE_NAME), "utf8")).includes(SECRET));
  });

  it("two concurrent first uses agree on one key", async () => {
    const dir = await tempDir();
    const [a, b] = await Promise.all([
      loadMasterKey({ encryptionKey: null, dataDir: dir }),
      loadMasterKey({ encryptionKey: null, dataDir: dir }),
    ]);
    assert.deepEqual(a.key, b.key);
  });

  it("warns when the key file is readable by others, and refuses a corrupt one", async () => {
    const dir = await tempDir();
    const path = join(dir, KEY_FILE_NAME);
    await writeFile(path, `${randomBytes(32).toString("base64url")}\n`, { mode: 0o644 });
    const warnings: string[] = [];
    await loadMasterKey({ encryptionKey: null, dataDir: dir, warn: (m) => warnings.push(m) });
    if (process.platform !== "win32") assert.match(warnings.join("\n"), /readable by other users/);

    await writeFile(path, "not a key\n");
    await assert.rejects(loadMasterKey({ encryptionKey: null, dataDir: dir }), /does not hold a 32-byte key/);
  });
});
