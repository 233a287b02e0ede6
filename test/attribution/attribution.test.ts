import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { detectAgent } from "../../src/attribution/agent.ts";
import { extractLabels } from "../../src/attribution/labels.ts";
import { attributeSession, sessionFromAnthropicMetadata } from "../../src/attribution/session.ts";

describe("detectAgent", () => {
  const cases: [Record<string, string>, string, string | null][] = [
    [{ "user-agent": "claude-cli/2.1.197 (external, sdk-cli)" }, "claude-code", "2.1.197"],
    [{ "user-agent": "codex_exec/0.169.0 (Debian 12.0.0; x86_64) xterm" }, "codex", "0.169.0"],
    [{ "user-agent": "codex_cli_rs/0.50.0 (Mac OS 15.0; arm64)" }, "codex", "0.50.0"],
    [{ "user-agent": "GeminiCLI-tui/0.61.0/gemini-2.5-flash (linux; x64; terminal)" }, "gemini-cli", "0.61.0"],
    [{ "user-agent": "GeminiCLI/0.61.0/gemini-2.5-flash (linux; x64)" }, "gemini-cli", "0.61.0"],
    [{ "user-agent": "opencode/1.18.33 ai-sdk/provider-utils/3.0.0 runtime/bun/1.2" }, "opencode", "1.18.33"],
    [{ "user-agent": "Anthropic/JS 0.65.0" }, "anthropic-sdk", null],
    [{ "user-agent": "OpenAI/JS 5.20.0" }, "openai-sdk", null],
    [{ "x-goog-api-client": "google-genai-sdk/1.30.0 gl-node/v24.0.0" }, "google-genai-sdk", "1.30.0"],
    [{ "user-agent": "curl/8.5.0" }, "curl", "8.5.0"],
    [{}, "unknown", null],
  ];
  for (const [headers, name, version] of cases) {
    it(`${JSON.stringify(headers)} → ${name}`, () => {
      const a = detectAgent(headers, "/v1/chat/completions");
      assert.equal(a.name, name);
      if (version !== null) assert.equal(a.version, version);
    });
  }
  it("the /cursor route is Cursor", () => {
    assert.equal(detectAgent({ "user-agent": "node" }, "/cursor/v1/chat/completions").name, "cursor");
  });
  it("Claude Code is recognised by its session header even with another user agent", () => {
    assert.equal(detectAgent({ "x-claude-code-session-id": "s" }, "/anthropic/v1/messages").name, "claude-code");
  });
});

describe("attributeSession", () => {
  it("reads each agent's session header, explicit override first", () => {
    assert.equal(attributeSession({ "x-claude-code-session-id": "cc" }, {}).sessionId, "cc");
    assert.equal(attributeSession({ "session-id": "codex" }, {}).sessionId, "codex");
    assert.equal(attributeSession({ "x-session-id": "ses_1" }, {}).sessionId, "ses_1");
    assert.equal(attributeSession({ "x-tollgate-session-id": "mine", "x-session-id": "ses_1" }, {}).sessionId, "mine");
    assert.equal(attributeSession({}, {}).sessionId, null);
  });
  it("reads Claude Code agent ids and Codex turn metadata", () => {
    const a = attributeSession(
      {
        "x-claude-code-agent-id": "agent-1",
        "x-claude-code-parent-agent-id": "agent-0",
        "x-codex-turn-metadata": JSON.stringify({ session_id: "s9", turn_id: "t1", workspace: "/repo" }),
      },
      {},
    );
    assert.deepEqual(a, {
      sessionId: "s9",
      agentId: "agent-1",
      parentAgentId: "agent-0",
      turnId: "t1",
      workspace: "/repo",
    });
  });
  it("ignores malformed Codex turn metadata", () => {
    assert.equal(attributeSession({ "x-codex-turn-metadata": "{nope" }, {}).turnId, null);
  });
  it("parses both forms of Claude Code's metadata.user_id", () => {
    const json = { metadata: { user_id: JSON.stringify({ device_id: "d", account_uuid: "", session_id: "abc-123" }) } };
    assert.equal(sessionFromAnthropicMetadata(json), "abc-123");
    const legacy = { metadata: { user_id: "user_0a1b_account__session_8e2f1c3a-1111-2222-3333-444455556666" } };
    assert.equal(sessionFromAnthropicMetadata(legacy), "8e2f1c3a-1111-2222-3333-444455556666");
    assert.equal(sessionFromAnthropicMetadata({ metadata: { user_id: "plain" } }), null);
    assert.equal(sessionFromAnthropicMetadata({ metadata: { user_id: "{bad json" } }), null);
    assert.equal(sessionFromAnthropicMetadata("x"), null);
  });
});

describe("extractLabels", () => {
  it("keeps valid labels within the bounds", () => {
    const headers: Record<string, string> = {
      "x-tollgate-label-team": "a",
      "x-tollgate-label-Bad Name": "x",
      other: "y",
    };
    for (let i = 0; i < 20; i++) headers[`x-tollgate-label-l${i}`] = "v".repeat(500);
    const labels = extractLabels(headers, { maxCount: 5, maxValueLength: 10 });
    assert.equal(Object.keys(labels).length, 5);
    assert.equal(labels.team, "a");
    for (const v of Object.values(labels)) assert.ok(v.length <= 10);
  });
});
