import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { JWT } from "google-auth-library";
import { type Clock, systemClock } from "../clock.ts";
import type { TokenAuth } from "./types.ts";

/**
 * Google service-account auth for Vertex AI: a credentials JSON → OAuth2 access tokens through the JWT bearer grant
 * (google-auth-library signs and posts the assertion), cached and refreshed ahead of expiry off the request path.
 */

export const CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform";
/** Google's token endpoint; google-auth-library posts the JWT grant here whatever the credentials say. */
export const GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token";

/** The fields of a service-account key file (`type: "service_account"`) that minting a token needs. */
export interface ServiceAccountKey {
  clientEmail: string;
  privateKey: string;
  privateKeyId: string | null;
  projectId: string | null;
  /** Where the grant is posted (`token_uri`; Google's endpoint when absent). */
  tokenUri: string;
}

/** Parses a service-account key; throws an Error naming `where` and what is wrong. */
export function parseServiceAccount(json: unknown, where: string): ServiceAccountKey {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new Error(`${where} is not a JSON object`);
  }
  const o = json as Record<string, unknown>;
  if (o.type !== "service_account") {
    throw new Error(
      `${where} is not a service-account key (type is ${JSON.stringify(o.type ?? null)}, expected "service_account"); ` +
        "create one with: gcloud iam service-accounts keys create key.json --iam-account=NAME@PROJECT.iam.gserviceaccount.com",
    );
  }
  const text = (name: string): string | null => {
    const v = o[name];
    return typeof v === "string" && v !== "" ? v : null;
  };
  const clientEmail = text("client_email");
  const privateKey = text("private_key");
  if (!clientEmail) throw new Error(`${where} has no "client_email"`);
  if (!privateKey?.includes("PRIVATE KEY")) throw new Error(`${where} has no PEM "private_key"`);
  const tokenUri = text("token_uri") ?? GOOGLE_TOKEN_URL;
  if (!/^https?:\/\//.test(tokenUri)) throw new Error(`${where}: "token_uri" must be an http(s) URL`);
  return {
    clientEmail,
    privateKey,
    privateKeyId: text("private_key_id"),
    projectId: text("project_id"),
    tokenUri,
  };
}

export function readServiceAccountFile(path: string): ServiceAccountKey {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`cannot read the credentials file ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`the credentials file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  return parseServiceAccount(json, `the credentials file ${path}`);
}

/** A freshly minted access token and how long it lives. */
export interface MintedToken {
  token: string;
  expiresInMs: number;
}

export type TokenMinter = () => Promise<MintedToken>;

/**
 * Mints one access token with google-auth-library's JWT client (a new client each time, so nothing is cached twice).
 * The library posts to Google's endpoint unconditionally; a key whose `token_uri` names another endpoint (a private
 * universe, or a test's mock) gets its grant sent there, as Google's other client libraries do.
 */
export function jwtBearerMinter(account: ServiceAccountKey, scopes: readonly string[] = [CLOUD_PLATFORM_SCOPE]) {
  return async (): Promise<MintedToken> => {
    const client = new JWT({
      email: account.clientEmail,
      key: account.privateKey,
      ...(account.privateKeyId ? { keyId: account.privateKeyId } : {}),
      scopes: [...scopes],
      transporterOptions: { timeout: 30_000 },
    });
    if (account.tokenUri !== GOOGLE_TOKEN_URL) {
      const target = new URL(account.tokenUri);
      client.transporter.interceptors.request.add({
        resolved: async (config) => {
          if (String(config.url) === GOOGLE_TOKEN_URL) config.url = target;
          return config;
        },
      });
    }
    const startedAt = Date.now();
    const tokens = await client.authorize();
    if (!tokens.access_token) throw new Error("the token endpoint answered without an access_token");
    // The library dates expiry with the wall clock; only the remaining lifetime is kept.
    const expiresInMs = (tokens.expiry_date ?? startedAt + 3_600_000) - Date.now();
    return { token: tokens.access_token, expiresInMs };
  };
}

export interface CachedTokenOptions {
  clock?: Clock;
  /** Refresh this long before expiry (default 5 min; at most half the token's lifetime). */
  refreshMarginMs?: number;
  /** Retry a failed background refresh after this long (default 30 s). */
  retryMs?: number;
}

/** A token this close to expiry is not handed out: a request must not start with a token about to lapse. */
const MIN_VALID_MS = 10_000;

/**
 * An access token kept fresh: requests get the cached token synchronously; a refresh starts ahead of expiry (on a
 * timer, and again when a request sees the refresh time passed) while requests keep using the still-valid token. Only
 * the very first request — or one after the token lapsed, e.g. when refreshing kept failing — waits for the mint.
 */
export class CachedAccessToken implements TokenAuth {
  readonly id: string;
  readonly #mint: TokenMinter;
  readonly #clock: Clock;
  readonly #marginMs: number;
  readonly #retryMs: number;
  #current: { token: string; expiresAt: number; refreshAt: number } | null = null;
  #pending: Promise<string> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #lastError: Error | null = null;

  constructor(id: string, mint: TokenMinter, options: CachedTokenOptions = {}) {
    this.id = id;
    this.#mint = mint;
    this.#clock = options.clock ?? systemClock;
    this.#marginMs = options.refreshMarginMs ?? 5 * 60_000;
    this.#retryMs = options.retryMs ?? 30_000;
  }

  token(): string | Promise<string> {
    const current = this.#current;
    const now = this.#clock.now();
    if (current && now < current.expiresAt - MIN_VALID_MS) {
      if (now >= current.refreshAt) void this.#refresh().catch(() => undefined);
      return current.token;
    }
    return this.#refresh();
  }

  /** The upstream refused `token` (401): mint another in the background; requests meanwhile keep the old one. */
  rejected(token: string): void {
    const current = this.#current;
    if (!current || current.token !== token) return;
    current.refreshAt = Math.min(current.refreshAt, this.#clock.now());
    void this.#refresh().catch(() => undefined);
  }

  /** Why the last mint failed (null after a success); for diagnostics. */
  get lastError(): Error | null {
    return this.#lastError;
  }

  /** Stops the refresh timer. */
  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #refresh(): Promise<string> {
    this.#pending ??= this.#mint().then(
      (minted) => {
        this.#pending = null;
        this.#lastError = null;
        const now = this.#clock.now();
        const lifetime = Math.max(0, minted.expiresInMs);
        const expiresAt = now + lifetime;
        this.#current = {
          token: minted.token,
          expiresAt,
          refreshAt: expiresAt - Math.min(this.#marginMs, lifetime / 2),
        };
        this.#schedule(this.#current.refreshAt - now);
        return minted.token;
      },
      (err: unknown) => {
        this.#pending = null;
        this.#lastError = err instanceof Error ? err : new Error(String(err));
        // A background refresh failed while the old token still works: try again soon.
        if (this.#current && this.#clock.now() < this.#current.expiresAt - MIN_VALID_MS) this.#schedule(this.#retryMs);
        throw this.#lastError;
      },
    );
    return this.#pending;
  }

  #schedule(delayMs: number): void {
    this.close();
    // unref: a pending refresh never keeps the process alive.
    this.#timer = setTimeout(() => void this.#refresh().catch(() => undefined), Math.max(1_000, delayMs));
    this.#timer.unref();
  }
}

/** A stable, non-secret id for a service account's tokens (logged as the provider key id). */
export function serviceAccountKeyId(account: ServiceAccountKey): string {
  const digest = createHash("sha256")
    .update(`${account.clientEmail}\u0000${account.privateKeyId ?? account.privateKey}`)
    .digest("hex")
    .slice(0, 10);
  return `sa-${digest}`;
}
