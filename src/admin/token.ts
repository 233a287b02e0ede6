import { randomBytes, timingSafeEqual } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface AdminToken {
  token: string;
  /** True when it was generated on this start (print it once). */
  created: boolean;
  path: string | null;
}

/**
 * The admin token: `TOLLGATE_ADMIN_TOKEN` (or config) when set; otherwise one generated on first start and kept in
 * the data dir with mode 0600, so restarts keep it.
 */
export async function loadAdminToken(configured: string | null, dataDir: string): Promise<AdminToken> {
  if (configured) return { token: configured, created: false, path: null };
  const path = join(dataDir, "admin-token");
  try {
    const token = (await readFile(path, "utf8")).trim();
    if (token) return { token, created: false, path };
  } catch {
    // first start
  }
  const token = `tg-admin-${randomBytes(24).toString("base64url")}`;
  await mkdir(dataDir, { recursive: true });
  await writeFile(path, `${token}\n`, { mode: 0o600 });
  await chmod(path, 0o600);
  return { token, created: true, path };
}

/** Constant-time check of an `Authorization: Bearer …` header against the token. */
export function isAdmin(authorization: string | undefined, token: string): boolean {
  if (!authorization?.startsWith("Bearer ")) return false;
  const given = Buffer.from(authorization.slice(7).trim());
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}
