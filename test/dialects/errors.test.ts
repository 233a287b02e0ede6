import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type RenderableError, renderError, renderStreamError } from "../../src/dialects/errors.ts";
import { type ErrorKind, GatewayError } from "../../src/errors/catalog.ts";

/** Every kind, with the status Tollgate answers it with and a representative code. */
const KINDS: [ErrorKind, number, string][] = [
  ["invalid_request", 400, "TG_INVALID_BODY"],
  ["authentication", 401, "TG_UNAUTHORIZED"],
  ["permission", 403, "TG_FORBIDDEN"],
  ["not_found", 404, "TG_NOT_FOUND"],
  ["payload_too_large", 413, "TG_BODY_TOO_LARGE"],
  ["rate_limited", 429, "TG_RATE_LIMITED"],
  ["budget_exhausted", 402, "TG_BUDGET_EXHAUSTED"],
  ["upstream_error", 502, "TG_UPSTREAM_BAD_RESPONSE"],
  ["upstream_unavailable", 503, "TG_NO_PROVIDER_KEY"],
  ["upstream_timeout", 504, "TG_UPSTREAM_TIMEOUT"],
  ["internal", 500, "TG_INTERNAL"],
];

function errorOf(kind: ErrorKind, status: number, code: string): RenderableError {
  const headers: Record<string, string> = kind === "rate_limited" ? { "retry-after": "7" } : {};
  return { code, kind, status, message: `${kind} happened`, headers };
}

const ANTHROPIC_TYPES: Record<ErrorKind, string> = {
  invalid_request: "invalid_request_error",
  authentication: "authentication_error",
  permission: "permission_error",
  not_found: "not_found_error",
  payload_too_large: "request_too_large",
  rate_limited: "rate_limit_error",
  budget_exhausted: "billing_error",
  upstream_error: "api_error",
  upstream_unavailable: "overloaded_error",
  upstream_timeout: "timeout_error",
  internal: "api_error",
};

const OPENAI_TYPES: Record<ErrorKind, [string, string | null]> = {
  invalid_request: ["invalid_request_error", null],
  authentication: ["authentication_error", null],
  permission: ["permission_error", null],
  not_found: ["not_found_error", null],
  payload_too_large: ["invalid_request_error", null],
  rate_limited: ["rate_limit_error", "rate_limit_exceeded"],
  budget_exhausted: ["insufficient_quota", "insufficient_quota"],
  upstream_error: ["server_error", null],
  upstream_unavailable: ["server_error", null],
  upstream_timeout: ["server_error", null],
  internal: ["server_error", null],
};

const GEMINI_STATUS: Record<ErrorKind, string> = {
  invalid_request: "INVALID_ARGUMENT",
  authentication: "UNAUTHENTICATED",
  permission: "PERMISSION_DENIED",
  not_found: "NOT_FOUND",
  payload_too_large: "INVALID_ARGUMENT",
  rate_limited: "RESOURCE_EXHAUSTED",
  budget_exhausted: "RESOURCE_EXHAUSTED",
  upstream_error: "UNAVAILABLE",
  upstream_unavailable: "UNAVAILABLE",
  upstream_timeout: "DEADLINE_EXCEEDED",
  internal: "INTERNAL",
};

function expectedHeaders(err: RenderableError): Record<string, string> {
  return { ...err.headers, "content-type": "application/json", "x-tollgate-error-code": err.code };
}

describe("renderError / renderStreamError: anthropic", () => {
  for (const [kind, status, code] of KINDS) {
    it(kind, () => {
      const err = errorOf(kind, status, code);
      const error = { type: ANTHROPIC_TYPES[kind], message: `${kind} happened` };
      const rendered = renderError("anthropic", err, { requestId: "req_1" });
      assert.equal(rendered.status, status);
      assert.deepEqual(rendered.headers, expectedHeaders(err));
      assert.deepEqual(JSON.parse(rendered.body), { type: "error", error, request_id: "req_1" });
      assert.equal(
        renderStreamError("anthropic", err),
        `event: error\ndata: ${JSON.stringify({ type: "error", error })}\n\n`,
      );
    });
  }
});

describe("renderError / renderStreamError: openai", () => {
  for (const [kind, status, code] of KINDS) {
    it(kind, () => {
      const err = errorOf(kind, status, code);
      const [type, standardCode] = OPENAI_TYPES[kind];
      const error = { message: `${kind} happened`, type, param: null, code: standardCode ?? code.toLowerCase() };
      const rendered = renderError("openai", err);
      assert.equal(rendered.status, status);
      assert.deepEqual(rendered.headers, expectedHeaders(err));
      assert.deepEqual(JSON.parse(rendered.body), { error });
      const chat = `data: ${JSON.stringify({ error })}\n\n`;
      assert.equal(renderStreamError("openai", err), chat);
      assert.equal(renderStreamError("openai-chat", err), chat);
      const responses = renderStreamError("openai-responses", err);
      assert.ok(responses.startsWith("event: error\ndata: "));
      assert.deepEqual(JSON.parse(responses.slice("event: error\ndata: ".length)), {
        type: "error",
        code: error.code,
        message: error.message,
        param: null,
        error,
      });
    });
  }
});

describe("renderError / renderStreamError: gemini", () => {
  for (const [kind, status, code] of KINDS) {
    it(kind, () => {
      const err = errorOf(kind, status, code);
      const error: Record<string, unknown> = { code: status, message: `${kind} happened`, status: GEMINI_STATUS[kind] };
      if (kind === "rate_limited") {
        error.details = [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "7s" }];
      }
      const rendered = renderError("gemini", err);
      assert.equal(rendered.status, status);
      assert.deepEqual(rendered.headers, expectedHeaders(err));
      assert.deepEqual(JSON.parse(rendered.body), { error });
      assert.equal(renderStreamError("gemini", err), `data: ${JSON.stringify({ error })}\n\n`);
    });
  }
});

describe("renderError with a real GatewayError", () => {
  it("uses the catalog's status and code and keeps the error's headers", () => {
    const err = new GatewayError("TG_UPSTREAM_TIMEOUT", "upstream took too long", { "x-extra": "1" });
    const rendered = renderError("openai", err);
    assert.equal(rendered.status, 504);
    assert.equal(rendered.headers["x-extra"], "1");
    assert.deepEqual(JSON.parse(rendered.body), {
      error: { message: "upstream took too long", type: "server_error", param: null, code: "tg_upstream_timeout" },
    });
  });

  it("omits request_id when none is given (anthropic)", () => {
    const body = JSON.parse(renderError("anthropic", new GatewayError("TG_INVALID_JSON", "bad json")).body) as object;
    assert.deepEqual(body, { type: "error", error: { type: "invalid_request_error", message: "bad json" } });
  });
});
