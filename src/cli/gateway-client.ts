import type { IncomingHttpHeaders } from "node:http";
import { connect } from "node:net";
import { DEFAULT_GATEWAY_URL, GATEWAY_URL_ENV, KEY_ENV, trimGatewayUrl } from "../shared/agent-wiring.ts";
import { CliError, EXIT } from "./exit.ts";

/**
 * What the agent-facing commands (launch, statusline, doctor) need from a gateway: its URL, the developer's key,
 * and small HTTP calls with a hard deadline. Plain node:http rather than fetch: the status line runs on every
 * Claude Code refresh, and loading fetch's or node:http's implementation costs more than the request itself.
 */

export function resolveGateway(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const url = trimGatewayUrl(flag ?? env[GATEWAY_URL_ENV] ?? DEFAULT_GATEWAY_URL);
  if (!/^https?:\/\/[^/]/.test(url)) throw new CliError(`the gateway URL must be http(s), got "${url}"`, EXIT.usage);
  return url;
}

export function resolveKey(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | null {
  const key = (flag ?? env[KEY_ENV] ?? "").trim();
  return key === "" ? null : key;
}

export interface HttpReply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

export interface HttpCall {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** The whole exchange, connect to last byte. */
  timeoutMs: number;
}

/** No reply: the error's `code` is the socket's (ECONNREFUSED, ENOTFOUND, …) or `ETIMEDOUT` for the deadline. */
export class NoReplyError extends Error {
  override name = "NoReplyError";
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export async function call(url: string, options: HttpCall): Promise<HttpReply> {
  const target = new URL(url);
  // Loaded on use: importing node:http pulls in TLS, HTTP/2, zlib and undici (~30 ms), see quickGet.
  const send =
    target.protocol === "https:" ? (await import("node:https")).request : (await import("node:http")).request;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.body !== undefined) headers["content-length"] = String(Buffer.byteLength(options.body));
    const req = send(target, { method: options.method ?? "GET", headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") });
      });
      res.on("error", (err) => {
        clearTimeout(timer);
        reject(new NoReplyError("ECONNRESET", err.message));
      });
    });
    const timer = setTimeout(() => {
      req.destroy(new NoReplyError("ETIMEDOUT", `no reply within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    req.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(err instanceof NoReplyError ? err : new NoReplyError(err.code ?? "ERROR", err.message));
    });
    req.end(options.body);
  });
}

export function bearer(key: string | null): Record<string, string> {
  return key ? { authorization: `Bearer ${key}` } : {};
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The error message of a gateway reply in any dialect's shape, or the start of the body. */
export function errorMessage(reply: HttpReply): string {
  const body = parseJson(reply.text) as { error?: { message?: unknown } | string; message?: unknown } | undefined;
  const error = body?.error;
  if (typeof error === "object" && error !== null && typeof error.message === "string") return error.message;
  if (typeof error === "string") return error;
  if (typeof body?.message === "string") return body.message;
  return reply.text.slice(0, 200) || `HTTP ${reply.status}`;
}

/** The gateway's model ids for OpenAI-style clients (`GET /v1/models`). */
export async function fetchModelIds(gateway: string, key: string | null, timeoutMs: number): Promise<string[]> {
  const reply = await call(`${gateway}/v1/models`, { headers: bearer(key), timeoutMs });
  if (reply.status !== 200) throw new Error(`GET /v1/models: ${reply.status} ${errorMessage(reply)}`);
  const body = parseJson(reply.text) as { data?: Array<{ id?: unknown }> } | undefined;
  return (body?.data ?? []).map((m) => m.id).filter((id): id is string => typeof id === "string");
}

/** Decodes a chunked body (a server may chunk even a small reply). */
function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = body.indexOf("\r\n", at);
    if (lineEnd < 0) break;
    const size = Number.parseInt(body.subarray(at, lineEnd).toString("latin1"), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/**
 * A GET over a plain TCP socket (HTTP/1.0, the server closes after the reply): what the status line uses for an
 * http: gateway, because node:net loads in a fraction of node:http's time. https: goes through `call`.
 */
export async function quickGet(url: string, headers: Record<string, string>, timeoutMs: number): Promise<HttpReply> {
  const target = new URL(url);
  if (target.protocol !== "http:") return call(url, { headers, timeoutMs });
  const host = target.hostname.replace(/^\[|\]$/g, "");
  const port = Number(target.port || 80);
  const head = [
    `GET ${target.pathname}${target.search} HTTP/1.0`,
    `host: ${target.host}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    "",
    "",
  ].join("\r\n");
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy(new NoReplyError("ETIMEDOUT", `no reply within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("connect", () => socket.write(head));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(err instanceof NoReplyError ? err : new NoReplyError(err.code ?? "ERROR", err.message));
    });
    socket.on("close", (hadError) => {
      clearTimeout(timer);
      if (hadError) return;
      const raw = Buffer.concat(chunks);
      const split = raw.indexOf("\r\n\r\n");
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(raw.subarray(0, 16).toString("latin1"));
      if (split < 0 || !status?.[1]) {
        reject(new NoReplyError("EPROTO", "not an HTTP reply"));
        return;
      }
      const replyHeaders: IncomingHttpHeaders = {};
      for (const line of raw.subarray(0, split).toString("latin1").split("\r\n").slice(1)) {
        const colon = line.indexOf(":");
        if (colon > 0) replyHeaders[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      let body: Buffer = raw.subarray(split + 4);
      if (/chunked/i.test(String(replyHeaders["transfer-encoding"] ?? ""))) body = dechunk(body);
      resolve({ status: Number(status[1]), headers: replyHeaders, text: body.toString("utf8") });
    });
  });
}
