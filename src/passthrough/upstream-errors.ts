import { GatewayError } from "../errors/catalog.ts";

interface ErrnoLike {
  code?: unknown;
  name?: unknown;
  message?: unknown;
  cause?: unknown;
}

/** Maps a failed upstream call (undici / socket errors) onto the error catalog. */
export function upstreamFailure(err: unknown, providerName: string): GatewayError {
  const e = (err ?? {}) as ErrnoLike;
  const cause = (e.cause ?? {}) as ErrnoLike;
  const code = String(e.code ?? cause.code ?? "");
  const where = `provider "${providerName}"`;
  switch (code) {
    case "UND_ERR_CONNECT_TIMEOUT":
      return new GatewayError("TG_UPSTREAM_TIMEOUT", `Timed out connecting to ${where}.`);
    case "UND_ERR_HEADERS_TIMEOUT":
      return new GatewayError("TG_UPSTREAM_TIMEOUT", `${cap(where)} did not start answering in time.`);
    case "UND_ERR_BODY_TIMEOUT":
      return new GatewayError("TG_UPSTREAM_TIMEOUT", `${cap(where)} went silent in the middle of its response.`);
    case "ECONNREFUSED":
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return new GatewayError("TG_UPSTREAM_UNREACHABLE", `Cannot reach ${where} (${code}).`);
    case "ECONNRESET":
    case "EPIPE":
    case "UND_ERR_SOCKET":
    case "UND_ERR_CLOSED":
      return new GatewayError("TG_UPSTREAM_RESET", `${cap(where)} closed the connection unexpectedly.`);
    default:
      return new GatewayError(
        "TG_UPSTREAM_BAD_RESPONSE",
        `Upstream call to ${where} failed: ${String(e.message ?? err)}`,
      );
  }
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The error type and message inside a provider's error body (all three shapes), for the log row. */
export function upstreamErrorSummary(status: number, body: Buffer): { code: string; message: string } {
  let type: string | null = null;
  let message: string | null = null;
  try {
    let parsed: unknown = JSON.parse(body.toString("utf8"));
    if (Array.isArray(parsed)) parsed = parsed[0];
    const error = typeof parsed === "object" && parsed !== null ? (parsed as { error?: unknown }).error : undefined;
    if (typeof error === "object" && error !== null) {
      const fields = error as { type?: unknown; status?: unknown; code?: unknown; message?: unknown };
      const t = fields.type ?? fields.status ?? fields.code;
      type = t === undefined || t === null ? null : String(t);
      message = typeof fields.message === "string" ? fields.message : null;
    } else if (typeof error === "string") {
      message = error;
    } else if (typeof parsed === "object" && parsed !== null) {
      // AWS (Bedrock): `{"message": …}` or `{"Message": …}`, the exception named in a header.
      const fields = parsed as { message?: unknown; Message?: unknown };
      const text = fields.message ?? fields.Message;
      message = typeof text === "string" ? text : null;
    }
  } catch {
    message = body.subarray(0, 300).toString("utf8");
  }
  return { code: type ?? `http_${status}`, message: (message ?? `HTTP ${status}`).slice(0, 1000) };
}
