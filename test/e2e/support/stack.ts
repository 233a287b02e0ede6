import type { RequestLogRecord } from "../../../src/store/log-record.ts";
import { type MockUpstream, startMockUpstream } from "../../fixtures/mock-upstream/index.ts";
import { startTestGateway } from "../../helpers/gateway.ts";
import { createSandbox, type Sandbox } from "./sandbox.ts";
import { startTrapProxy, type TrapProxy } from "./trap-proxy.ts";

/** Where each client family points its base URL. */
export interface ClientBaseUrls {
  /** Claude Code's ANTHROPIC_BASE_URL (it appends /v1/messages). */
  anthropic: string;
  /** OpenAI-style base including /v1 (Codex appends /responses, opencode /chat/completions). */
  openai: string;
  /** Gemini CLI's GOOGLE_GEMINI_BASE_URL (the SDK appends /v1beta/models/…). */
  gemini: string;
  /** Claude Code's ANTHROPIC_BEDROCK_BASE_URL (it appends /model/{id}/invoke…). */
  bedrock: string;
  /** Claude Code's ANTHROPIC_VERTEX_BASE_URL (it appends /projects/{project}/locations/{region}/publishers/…). */
  vertex: string;
}

/** A call to the gateway's management API with the admin token. */
export type AdminCall = (
  method: string,
  path: string,
  body?: unknown,
) => Promise<{ status: number; body: Record<string, unknown> }>;

interface Target {
  baseUrls: ClientBaseUrls;
  admin: AdminCall;
  /** The gateway's request log, once the row of each of the first `n` calls is written (a stream's row lands just after its end). */
  logs(n: number): Promise<RequestLogRecord[]>;
  close(): Promise<void>;
}

/** What the CLIs talk to: the gateway, wired to the mock. The one place to change to point them at the bare mock. */
async function startTarget(upstreamUrl: string, env?: Record<string, string>): Promise<Target> {
  const gateway = await startTestGateway({ upstreamUrl, ...(env ? { env } : {}) });
  return {
    baseUrls: {
      anthropic: `${gateway.url}/anthropic`,
      openai: `${gateway.url}/v1`,
      gemini: `${gateway.url}/genai`,
      bedrock: `${gateway.url}/bedrock`,
      vertex: `${gateway.url}/vertex/v1`,
    },
    admin: async (method, path, body) => {
      const res = await fetch(`${gateway.url}/api${path}`, {
        method,
        headers: {
          authorization: `Bearer ${gateway.adminToken}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    logs: (n) => gateway.waitForLogs(n),
    close: () => gateway.close(),
  };
}

/** One test's world: scripted upstream, the gateway in front of it, a trap for stray traffic, fresh folders. */
export interface E2eStack {
  mock: MockUpstream;
  baseUrls: ClientBaseUrls;
  admin: AdminCall;
  logs(n: number): Promise<RequestLogRecord[]>;
  proxy: TrapProxy;
  sandbox: Sandbox;
  close(): Promise<void>;
}

/** `gatewayEnv`: extra environment for the gateway (e.g. AWS credentials that register the Bedrock provider). */
export async function startStack(options: { gatewayEnv?: Record<string, string> } = {}): Promise<E2eStack> {
  // Closed in reverse order. On a failed start whatever did start is closed, so no server keeps the process alive.
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    const errors: unknown[] = [];
    for (const closer of closers.splice(0).reverse()) {
      try {
        await closer();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw errors[0];
  };
  try {
    const proxy = await startTrapProxy();
    closers.push(() => proxy.close());
    const sandbox = await createSandbox(proxy.url);
    closers.push(() => sandbox.cleanup());
    const mock = await startMockUpstream();
    closers.push(() => mock.close());
    const target = await startTarget(mock.url, options.gatewayEnv);
    closers.push(() => target.close());
    return { mock, baseUrls: target.baseUrls, admin: target.admin, logs: target.logs, proxy, sandbox, close };
  } catch (err) {
    await close();
    throw err;
  }
}
