import { generateKeyPairSync } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";

/** A service account made for the tests: its key file's fields and the public key the mock token endpoint checks. */
export interface TestServiceAccount {
  clientEmail: string;
  privateKeyPem: string;
  publicKeyPem: string;
  /** The key file's JSON (as `gcloud iam service-accounts keys create` writes it), its grant sent to `tokenUri`. */
  keyFile(tokenUri: string, projectId?: string): Record<string, string>;
  /** Writes the key file into `dir`; resolves to its path. */
  writeKeyFile(dir: string, tokenUri: string, projectId?: string): Promise<string>;
}

const made = new Map<string, TestServiceAccount>();

/** One RSA key pair per name and process (generating one takes tens of milliseconds). */
export function testServiceAccount(name = "tollgate-test"): TestServiceAccount {
  const existing = made.get(name);
  if (existing) return existing;
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const privateKeyPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const publicKeyPem = publicKey.export({ type: "spki", format: "pem" }).toString();
  const clientEmail = `${name}@tollgate-test.iam.gserviceaccount.com`;
  const account: TestServiceAccount = {
    clientEmail,
    privateKeyPem,
    publicKeyPem,
    keyFile(tokenUri, projectId = "tollgate-test") {
      return {
        type: "service_account",
        project_id: projectId,
        private_key_id: `${name}-key-1`,
        private_key: privateKeyPem,
        client_email: clientEmail,
        client_id: "100000000000000000001",
        auth_uri: "https://accounts.google.com/o/oauth2/auth",
        token_uri: tokenUri,
      };
    },
    async writeKeyFile(dir, tokenUri, projectId) {
      const path = join(dir, `${name}.json`);
      await writeFile(path, JSON.stringify(account.keyFile(tokenUri, projectId), null, 2), { mode: 0o600 });
      return path;
    },
  };
  made.set(name, account);
  return account;
}
