import type { RequestLogRecord } from "../../../src/store/log-record.ts";
import { startMockUpstream } from "../../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../../fixtures/mock-upstream/types.ts";
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
}

interface Target {
  baseUrls: ClientBaseUrls;
  /** The gateway's request log; null while developing straight against the mock. */
  logs: (() => Promise<RequestLogRecord[]>) | null;
  close(): Promise<void>;
}

/** What the CLIs talk to. The one place that decides between the gateway and the bare mock. */
async function startTarget(upstreamUrl: string): Promise<Target> {
  return {
    baseUrls: { anthropic: upstreamUrl, openai: `${upstreamUrl}/v1`, gemini: upstreamUrl },
    logs: null,
    close: async () => {},
  };
}

/** One test's world: scripted upstream, the gateway in front of it, a trap for stray traffic, fresh folders. */
export interface E2eStack {
  mock: MockUpstream;
  baseUrls: ClientBaseUrls;
  logs: (() => Promise<RequestLogRecord[]>) | null;
  proxy: TrapProxy;
  sandbox: Sandbox;
  close(): Promise<void>;
}

export async function startStack(): Promise<E2eStack> {
  const mock = await startMockUpstream();
  const target = await startTarget(mock.url);
  const proxy = await startTrapProxy();
  const sandbox = await createSandbox(proxy.url);
  return {
    mock,
    baseUrls: target.baseUrls,
    logs: target.logs,
    proxy,
    sandbox,
    close: async () => {
      await target.close();
      await mock.close();
      await proxy.close();
      await sandbox.cleanup();
    },
  };
}
