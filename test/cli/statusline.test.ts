import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { formatStatus } from "../../src/cli/commands/statusline.ts";
import { startMockUpstream } from "../fixtures/mock-upstream/index.ts";
import type { MockUpstream } from "../fixtures/mock-upstream/types.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { runTollgate } from "./support/run-tollgate.ts";

/** Claude Code's status line input (the documented schema, as Claude Code 2.1.197 sends it). */
const STATUS_JSON = await readFile(new URL("../fixtures/claude-code/statusline-input.json", import.meta.url), "utf8");
const SESSION = (JSON.parse(STATUS_JSON) as { session_id: string }).session_id;

/** claude-sonnet-4-5 at $3 / $15 per million: 10 in + 100 out = $0.00153 a call. */
const USAGE = { input_tokens: 10, output_tokens: 100 };

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address();
  await new Promise<void>((r) => server.close(() => r()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

describe("tollgate statusline", () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let secret: string;

  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${gw.url}/api${path}`, {
      method,
      headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  before(async () => {
    mock = await startMockUpstream();
    gw = await startTestGateway({ upstreamUrl: mock.url });
    const key = await admin("POST", "/virtual-keys", {
      name: "status-line",
      budgets: [{ name: "daily", limitUsd: "1", period: "1d" }],
    });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    secret = String(key.body.secret);
    for (const session of [SESSION, SESSION, "another-session"]) {
      const res = await fetch(`${gw.url}/anthropic/v1/messages`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "anthropic-version": "2023-06-01",
          authorization: `Bearer ${secret}`,
          "x-claude-code-session-id": session,
          "x-mock-script": JSON.stringify({ scenario: "text", usage: USAGE }),
        },
        body: JSON.stringify({
          model: "claude-sonnet-4-5",
          max_tokens: 100,
          messages: [{ role: "user", content: "hi" }],
        }),
      });
      assert.equal(res.status, 200, await res.text());
    }
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });

  it("prints the session's cost and the key's remaining budget, from the env `launch` sets", async () => {
    const run = await runTollgate(["statusline"], {
      env: { TOLLGATE_URL: gw.url, TOLLGATE_KEY: secret },
      stdin: STATUS_JSON,
    });
    assert.equal(run.code, 0, run.stderr);
    // Two of the three calls were this session's; the budget paid for all three ($0.00459 of $1).
    assert.equal(run.stdout, "tollgate: session $0.0031 · $0.9954 left of $1.00/1d\n");
  });

  it("finds the gateway and key of a hand-wired Claude Code (ANTHROPIC_BASE_URL / ANTHROPIC_AUTH_TOKEN)", async () => {
    const run = await runTollgate(["statusline"], {
      env: { ANTHROPIC_BASE_URL: `${gw.url}/anthropic`, ANTHROPIC_AUTH_TOKEN: secret },
      stdin: STATUS_JSON,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "tollgate: session $0.0031 · $0.9954 left of $1.00/1d\n");
  });

  it("shows the budget alone when stdin carries no session", async () => {
    const run = await runTollgate(["statusline", "--gateway", gw.url, "--key", secret], { stdin: "not json" });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "tollgate: $0.9954 left of $1.00/1d\n");
  });

  it("says so when the key is refused, and still exits 0", async () => {
    const run = await runTollgate(["statusline"], {
      env: { TOLLGATE_URL: gw.url, TOLLGATE_KEY: "sk-tg-not-a-real-key" },
      stdin: STATUS_JSON,
    });
    assert.deepEqual([run.code, run.stdout], [0, "tollgate: key not accepted\n"]);
  });

  it("prints its fallback and exits 0 when the gateway is down", async () => {
    const port = await closedPort();
    const run = await runTollgate(["statusline"], {
      env: { TOLLGATE_URL: `http://127.0.0.1:${port}`, TOLLGATE_KEY: secret },
      stdin: STATUS_JSON,
    });
    assert.deepEqual([run.code, run.stdout, run.stderr], [0, "tollgate: usage unavailable\n", ""]);
  });

  it("gives up on a gateway that accepts but never answers, within its deadline", async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
    });
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const address = silent.address();
    assert.ok(address !== null && typeof address === "object");
    try {
      const run = await runTollgate(["statusline"], {
        env: { TOLLGATE_URL: `http://127.0.0.1:${address.port}`, TOLLGATE_KEY: secret },
        stdin: STATUS_JSON,
      });
      assert.deepEqual([run.code, run.stdout], [0, "tollgate: usage unavailable\n"]);
      assert.ok(sockets.size >= 1, "it did connect");
      // 300 ms deadline plus process start; far below any socket timeout.
      assert.ok(run.ms < 5000, `took ${run.ms} ms`);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
});

describe("the status line text", () => {
  it("shows the tightest budget, its remainder cut (never rounded up)", () => {
    const line = formatStatus({
      session: { costUsd: "0.000153000" },
      budgets: [
        { name: "monthly", remainingUsd: "45.5", limitUsd: "50", period: "1mo" },
        { name: "daily", remainingUsd: "9.999847000", limitUsd: "10.000000000", period: "1d" },
      ],
    });
    assert.equal(line, "tollgate: session $0.0002 · $9.99 left of $10.00/1d");
  });

  it("says when the key has no budget, and leaves out a period that never resets", () => {
    assert.equal(formatStatus({ session: { costUsd: "1.5" }, budgets: [] }), "tollgate: session $1.50 · no budget");
    assert.equal(
      formatStatus({ budgets: [{ remainingUsd: "0", limitUsd: "200", period: "never" }] }),
      "tollgate: $0.00 left of $200.00",
    );
  });
});
