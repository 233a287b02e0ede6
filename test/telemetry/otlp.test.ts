import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { createServer as createHttp2Server, type ServerHttp2Stream } from "node:http2";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { ConfigError } from "../../src/config/load.ts";
import { resolveTelemetry } from "../../src/telemetry/config.ts";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway } from "../helpers/gateway.ts";

// claude-sonnet-4-5-20250929: 1000×3 + 200×15 + 300×0.3 + 400×3.75 = 7590 USD per million tokens.
const MODEL = "claude-sonnet-4-5-20250929";
const USAGE = {
  input_tokens: 1000,
  output_tokens: 200,
  cache_read_input_tokens: 300,
  cache_creation_input_tokens: 400,
};

interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes: { key: string; value: OtlpValue }[];
  events?: { name: string; timeUnixNano: string | number }[];
  status?: { code?: number; message?: string };
}
interface Received {
  contentType: string;
  path: string;
  body: Buffer;
}

/** A minimal OTLP/HTTP receiver: records every POST. */
async function startReceiver(): Promise<{ url: string; posts: Received[]; server: Server }> {
  const posts: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      posts.push({
        contentType: String(req.headers["content-type"]),
        path: req.url ?? "",
        body: Buffer.concat(chunks),
      });
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, posts, server };
}

function spansOf(posts: Received[]): OtlpSpan[] {
  const out: OtlpSpan[] = [];
  for (const p of posts) {
    const doc = JSON.parse(p.body.toString("utf8")) as {
      resourceSpans: { resource: unknown; scopeSpans: { spans: OtlpSpan[] }[] }[];
    };
    for (const rs of doc.resourceSpans) for (const ss of rs.scopeSpans) out.push(...ss.spans);
  }
  return out;
}

function attrs(span: OtlpSpan): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of span.attributes) {
    if (value.stringValue !== undefined) out[key] = value.stringValue;
    else if (value.intValue !== undefined) out[key] = Number(value.intValue);
    else if (value.doubleValue !== undefined) out[key] = value.doubleValue;
    else if (value.boolValue !== undefined) out[key] = value.boolValue;
  }
  return out;
}

const ERROR = 2;
const SERVER = 2;
const CLIENT = 3;

describe("OpenTelemetry traces over OTLP/HTTP (JSON)", () => {
  let mock: MockUpstream;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let spans: OtlpSpan[];
  let resourceAttrs: Record<string, string | number | boolean>;
  let streamRequestId: string;
  let failedRequestId: string;
  let resetRequestId: string;

  before(async () => {
    mock = await startMockUpstream();
    receiver = await startReceiver();
    const gw = await startTestGateway({
      upstreamUrl: mock.url,
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_SERVICE_NAME: "tollgate-otlp-test",
      },
    });
    const headers = {
      "content-type": "application/json",
      "x-api-key": "client-key",
      "anthropic-version": "2023-06-01",
      "x-claude-code-session-id": "sess-otlp-1",
    };
    mock.enqueue({ scenario: "text", text: "Hello there, traced.", usage: USAGE });
    const streamed = await fetch(`${gw.url}/v1/messages`, {
      method: "POST",
      headers,
      body: JSON.stringify({
        model: MODEL,
        max_tokens: 512,
        stream: true,
        messages: [{ role: "user", content: "hi" }],
      }),
    });
    assert.equal(streamed.status, 200);
    const sse = await streamed.text();
    assert.match(sse, /message_stop/);
    streamRequestId = String(streamed.headers.get("x-tollgate-request-id"));

    mock.enqueue({ scenario: "error", status: 500 });
    const failed = await fetch(`${gw.url}/v1/messages`, {
      method: "POST",
      headers,
      body: JSON.stringify({ model: MODEL, max_tokens: 64, messages: [{ role: "user", content: "fail" }] }),
    });
    assert.equal(failed.status, 500);
    await failed.text();
    failedRequestId = String(failed.headers.get("x-tollgate-request-id"));
    mock.enqueue({ scenario: "reset" });
    const reset = await fetch(`${gw.url}/v1/messages`, {
      method: "POST",
      headers,
      body: JSON.stringify({ model: MODEL, max_tokens: 64, messages: [{ role: "user", content: "reset" }] }),
    });
    assert.equal(reset.status, 502);
    await reset.text();
    resetRequestId = String(reset.headers.get("x-tollgate-request-id"));
    await gw.waitForLogs(3);
    // Shutdown flushes the batch processor: every span is at the receiver once close resolves.
    await gw.close();
    spans = spansOf(receiver.posts);
    const doc = JSON.parse(receiver.posts[0]?.body.toString("utf8") ?? "{}") as {
      resourceSpans: { resource: { attributes: OtlpSpan["attributes"] } }[];
    };
    resourceAttrs = attrs({ attributes: doc.resourceSpans[0]?.resource.attributes ?? [] } as OtlpSpan);
  });

  after(async () => {
    await mock.close();
    await new Promise<void>((resolve) => receiver.server.close(() => resolve()));
  });

  const callSpan = (requestId: string) => {
    const span = spans.find((s) => attrs(s)["tollgate.request_id"] === requestId);
    assert.ok(span, `a call span for ${requestId}`);
    return span;
  };
  const children = (parent: OtlpSpan) =>
    spans.filter((s) => s.parentSpanId === parent.spanId && s.traceId === parent.traceId);

  it("posts JSON to /v1/traces under the configured service name", () => {
    assert.ok(receiver.posts.length > 0);
    for (const p of receiver.posts) {
      assert.equal(p.path, "/v1/traces");
      assert.match(p.contentType, /application\/json/);
    }
    assert.equal(resourceAttrs["service.name"], "tollgate-otlp-test");
  });

  it("a streaming call: one span with the GenAI attributes, cost and attribution", () => {
    const span = callSpan(streamRequestId);
    const a = attrs(span);
    assert.equal(span.name, `chat ${MODEL}`);
    assert.equal(span.kind, SERVER);
    assert.equal(span.parentSpanId || undefined, undefined);
    assert.equal(a["gen_ai.operation.name"], "chat");
    assert.equal(a["gen_ai.provider.name"], "anthropic");
    assert.equal(a["gen_ai.system"], "anthropic");
    assert.equal(a["gen_ai.request.model"], MODEL);
    assert.equal(a["gen_ai.response.model"], MODEL);
    // input_tokens counts cached input too (GenAI semconv); the cache parts come apart.
    assert.equal(a["gen_ai.usage.input_tokens"], 1000 + 300 + 400);
    assert.equal(a["gen_ai.usage.output_tokens"], 200);
    assert.equal(a["gen_ai.usage.cache_read.input_tokens"], 300);
    assert.equal(a["gen_ai.usage.cache_creation.input_tokens"], 400);
    assert.ok(Math.abs(Number(a["tollgate.cost_usd"]) - 0.00759) < 1e-12, `cost ${a["tollgate.cost_usd"]}`);
    assert.equal(a["session.id"], "sess-otlp-1");
    assert.equal(a["tollgate.stream"], true);
    assert.equal(a["http.response.status_code"], 200);
    assert.notEqual(span.status?.code, ERROR);
    const first = span.events?.find((e) => e.name === "gen_ai.first_token");
    assert.ok(first, "first-token event");
    assert.ok(BigInt(first.timeUnixNano) >= BigInt(span.startTimeUnixNano));
    assert.ok(BigInt(first.timeUnixNano) <= BigInt(span.endTimeUnixNano));
  });

  it("the streaming call's children: admission and one upstream attempt (HTTP client span, 200)", () => {
    const span = callSpan(streamRequestId);
    const kids = children(span);
    const admission = kids.find((s) => s.name === "admission");
    assert.ok(admission, "admission span");
    const attempt = kids.find((s) => s.kind === CLIENT);
    assert.ok(attempt, "upstream attempt span");
    const a = attrs(attempt);
    assert.equal(attempt.name, "POST anthropic");
    assert.equal(a["http.request.method"], "POST");
    assert.equal(a["http.response.status_code"], 200);
    assert.equal(a["server.address"], "127.0.0.1");
    assert.notEqual(attempt.status?.code, ERROR);
    assert.ok(BigInt(attempt.startTimeUnixNano) >= BigInt(admission.endTimeUnixNano));
    assert.ok(BigInt(attempt.endTimeUnixNano) <= BigInt(span.endTimeUnixNano));
  });

  it("an upstream 500: the attempt span and the call span carry error status", () => {
    const span = callSpan(failedRequestId);
    assert.equal(span.status?.code, ERROR);
    assert.equal(attrs(span)["http.response.status_code"], 500);
    const attempt = children(span).find((s) => s.kind === CLIENT);
    assert.ok(attempt, "upstream attempt span");
    const a = attrs(attempt);
    assert.equal(a["http.response.status_code"], 500);
    assert.equal(a["error.type"], "500");
    assert.equal(attempt.status?.code, ERROR);
  });

  it("a provider that never answered (connection reset): the attempt has no HTTP status, error.type the TG code", () => {
    const span = callSpan(resetRequestId);
    assert.equal(span.status?.code, ERROR);
    const attempt = children(span).find((s) => s.kind === CLIENT);
    assert.ok(attempt, "upstream attempt span");
    const a = attrs(attempt);
    assert.equal(a["http.response.status_code"], undefined);
    assert.equal(a["error.type"], "TG_UPSTREAM_RESET");
    assert.equal(attempt.status?.code, ERROR);
  });
});

describe("OTLP: a retried call", () => {
  it("has one client span per upstream attempt: the failed one with its error, then the one that served", async () => {
    const mock = await startMockUpstream();
    const receiver = await startReceiver();
    try {
      const gw = await startTestGateway({
        upstreamUrl: mock.url,
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" },
        resilience: true,
        sleep: async () => {},
      });
      mock.enqueue({ scenario: "error", status: 503 }, { scenario: "text", text: "second attempt" });
      const res = await fetch(`${gw.url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": "client-key", "anthropic-version": "2023-06-01" },
        body: JSON.stringify({ model: MODEL, max_tokens: 64, messages: [{ role: "user", content: "retry me" }] }),
      });
      assert.equal(res.status, 200);
      await res.text();
      const requestId = String(res.headers.get("x-tollgate-request-id"));
      await gw.waitForLogs(1);
      await gw.close();
      const spans = spansOf(receiver.posts);
      const call = spans.find((s) => attrs(s)["tollgate.request_id"] === requestId);
      assert.ok(call);
      const attempts = spans
        .filter((s) => s.parentSpanId === call.spanId && s.kind === CLIENT)
        .sort((a, b) => Number(attrs(a)["tollgate.attempt"]) - Number(attrs(b)["tollgate.attempt"]));
      assert.deepEqual(
        attempts.map((s) => [
          attrs(s)["tollgate.attempt"],
          attrs(s)["http.response.status_code"],
          s.status?.code === ERROR,
        ]),
        [
          [1, 503, true],
          [2, 200, false],
        ],
      );
      assert.equal(attrs(attempts[0] as OtlpSpan)["error.type"], "upstream_503");
    } finally {
      await mock.close();
      await new Promise<void>((resolve) => receiver.server.close(() => resolve()));
    }
  });
});

describe("OTLP over HTTP/protobuf (the default protocol)", () => {
  it("exports protobuf to /v1/traces", async () => {
    const mock = await startMockUpstream();
    const receiver = await startReceiver();
    try {
      const gw = await startTestGateway({
        upstreamUrl: mock.url,
        env: {},
        configure: (c) => {
          c.telemetry = resolveTelemetry({}, { otlpEndpoint: receiver.url }, (m) => new ConfigError(m));
        },
      });
      mock.enqueue({ scenario: "text", text: "proto" });
      const res = await fetch(`${gw.url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": "k", "anthropic-version": "2023-06-01" },
        body: JSON.stringify({ model: MODEL, max_tokens: 16, messages: [{ role: "user", content: "x" }] }),
      });
      await res.text();
      await gw.waitForLogs(1);
      await gw.close();
      assert.ok(receiver.posts.length > 0);
      const post = receiver.posts[0];
      assert.equal(post?.path, "/v1/traces");
      assert.equal(post?.contentType, "application/x-protobuf");
      // The span name is a length-delimited protobuf string: its bytes appear as they are.
      assert.ok(post?.body.includes(Buffer.from(`chat ${MODEL}`)));
    } finally {
      await mock.close();
      await new Promise<void>((resolve) => receiver.server.close(() => resolve()));
    }
  });
});

describe("OTLP over gRPC", () => {
  it("calls TraceService/Export over HTTP/2 with the spans", async () => {
    const mock = await startMockUpstream();
    const calls: { path: string; body: Buffer }[] = [];
    // A bare gRPC endpoint: answers every call with an empty ExportTraceServiceResponse and grpc-status 0.
    const server = createHttp2Server();
    server.on("stream", (stream: ServerHttp2Stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        calls.push({ path: String(headers[":path"]), body: Buffer.concat(chunks) });
        stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
        stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
        stream.end(Buffer.alloc(5));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const gw = await startTestGateway({
        upstreamUrl: mock.url,
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: url, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" },
      });
      mock.enqueue({ scenario: "text", text: "grpc" });
      const res = await fetch(`${gw.url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": "k", "anthropic-version": "2023-06-01" },
        body: JSON.stringify({ model: MODEL, max_tokens: 16, messages: [{ role: "user", content: "x" }] }),
      });
      await res.text();
      await gw.waitForLogs(1);
      await gw.close();
      assert.ok(calls.length > 0);
      assert.equal(calls[0]?.path, "/opentelemetry.proto.collector.trace.v1.TraceService/Export");
      assert.ok(calls[0]?.body.includes(Buffer.from(`chat ${MODEL}`)));
    } finally {
      await mock.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe("telemetry configuration", () => {
  const invalid = (m: string) => new ConfigError(m);
  it("is off by default and with OTEL_TRACES_EXPORTER=none or OTEL_SDK_DISABLED", () => {
    assert.equal(resolveTelemetry({}, undefined, invalid), null);
    const on = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" };
    assert.equal(resolveTelemetry({ ...on, OTEL_TRACES_EXPORTER: "none" }, undefined, invalid), null);
    assert.equal(resolveTelemetry({ ...on, OTEL_SDK_DISABLED: "true" }, undefined, invalid), null);
  });

  it("reads the standard env vars, which win over the config file", () => {
    assert.deepEqual(
      resolveTelemetry(
        { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/", OTEL_SERVICE_NAME: "gw" },
        { otlpEndpoint: "http://file:4318", protocol: "grpc" },
        invalid,
      ),
      { url: "http://collector:4318", protocol: "grpc", serviceName: "gw" },
    );
    assert.deepEqual(
      resolveTelemetry({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc", OTEL_TRACES_EXPORTER: "otlp" }, undefined, invalid),
      {
        url: "http://localhost:4317",
        protocol: "grpc",
        serviceName: "tollgate",
      },
    );
    assert.deepEqual(
      resolveTelemetry({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4318/custom" }, undefined, invalid),
      { url: "http://c:4318/custom", protocol: "http/protobuf", serviceName: "tollgate" },
    );
    assert.deepEqual(resolveTelemetry({}, { otlpEndpoint: "http://file:4318" }, invalid), {
      url: "http://file:4318/v1/traces",
      protocol: "http/protobuf",
      serviceName: "tollgate",
    });
    assert.throws(
      () =>
        resolveTelemetry(
          { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c", OTEL_EXPORTER_OTLP_PROTOCOL: "thrift" },
          undefined,
          invalid,
        ),
      ConfigError,
    );
  });
});
