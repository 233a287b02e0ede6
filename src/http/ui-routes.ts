import { readFile } from "node:fs/promises";
import { extname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

/**
 * The dashboard: the built single-page app (`npm run build:ui` → `dist/ui/`) served at `/`. Its own routes only
 * (`GET /`, `/assets/<hashed file>`, `/favicon.svg`): nothing runs on the data plane's requests. Hashed assets are
 * immutable and sent precompressed (`.br`/`.gz` written by the build); index.html is never cached, so a new build
 * shows at the next load. The app routes by URL hash, so no catch-all route can shadow an API path.
 */

/** `dist/ui` beside the sources (src/http → ../../dist/ui) and the compiled files (dist/http → ../../dist/ui). */
export const DEFAULT_UI_DIR = fileURLToPath(new URL("../../dist/ui", import.meta.url));

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".woff2": "font/woff2",
  ".json": "application/json; charset=utf-8",
  ".html": "text/html; charset=utf-8",
};

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
};

const ASSET_NAME = /^[A-Za-z0-9_.-]+$/;

interface Variant {
  body: Buffer;
  encoding: "br" | "gzip" | null;
}

export function registerUiRoutes(app: FastifyInstance, dir: string = DEFAULT_UI_DIR): void {
  // Hashed assets never change, so their contents are kept once read; index.html (small) and misses are read
  // again each time, so a rebuild while the gateway runs shows at the next page load.
  const cache = new Map<string, Buffer>();
  const load = async (path: string): Promise<Buffer | null> => {
    const hit = cache.get(path);
    if (hit !== undefined) return hit;
    const data = await readFile(path).catch(() => null);
    if (data !== null && path.includes(`${sep}assets${sep}`)) cache.set(path, data);
    return data;
  };
  const pick = async (path: string, accept: string): Promise<Variant | null> => {
    if (/\bbr\b/.test(accept)) {
      const br = await load(`${path}.br`);
      if (br) return { body: br, encoding: "br" };
    }
    if (/\bgzip\b/.test(accept)) {
      const gz = await load(`${path}.gz`);
      if (gz) return { body: gz, encoding: "gzip" };
    }
    const raw = await load(path);
    return raw ? { body: raw, encoding: null } : null;
  };
  const send = async (req: FastifyRequest, reply: FastifyReply, path: string, cacheControl: string) => {
    const variant = await pick(path, String(req.headers["accept-encoding"] ?? ""));
    if (!variant) return null;
    reply
      .headers(SECURITY_HEADERS)
      .header("cache-control", cacheControl)
      .header("vary", "accept-encoding")
      .type(TYPES[extname(path)] ?? "application/octet-stream");
    if (variant.encoding) reply.header("content-encoding", variant.encoding);
    return reply.send(variant.body);
  };

  app.get("/", { exposeHeadRoute: false }, async (req, reply) => {
    const sent = await send(req, reply, join(dir, "index.html"), "no-cache");
    if (sent) return sent;
    return reply
      .code(404)
      .type("text/plain; charset=utf-8")
      .send("The dashboard is not built: run `npm run build:ui` (or `npm run build`).\n");
  });
  app.get<{ Params: { file: string } }>("/assets/:file", async (req, reply) => {
    const file = req.params.file;
    const sent = ASSET_NAME.test(file)
      ? await send(req, reply, join(dir, "assets", file), "public, max-age=31536000, immutable")
      : null;
    return sent ?? reply.code(404).type("text/plain; charset=utf-8").send("Not found.\n");
  });
  app.get("/favicon.svg", async (req, reply) => {
    const sent = await send(req, reply, join(dir, "favicon.svg"), "public, max-age=86400");
    return sent ?? reply.code(404).send();
  });
}
