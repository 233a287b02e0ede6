import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { anthropicRequestToCanonical } from "../../../src/translate/anthropic/request-to-canonical.ts";
import { canonicalToOpenAiChatRequest } from "../../../src/translate/openai-chat/index.ts";

/** The shape of a Claude Code request (2.1.197) that matters here: adaptive thinking with an effort, its user id. */
const USER_ID = JSON.stringify({
  device_id: "2537fced067a7de927aece20b515fc5c3718bec802ab96f8370da20047fe739c",
  account_uuid: "",
  session_id: "5344db4d-c206-406b-8f2d-1bb2dd4659fa",
});

function claudeCodeRequest(model: string) {
  return {
    model,
    max_tokens: 32000,
    stream: true,
    thinking: { type: "adaptive" },
    output_config: { effort: "high" },
    metadata: { user_id: USER_ID },
    messages: [{ role: "user", content: [{ type: "text", text: "Run echo hi" }] }],
  };
}

function toChat(model: string) {
  const canonical = anthropicRequestToCanonical(claudeCodeRequest(model)).value;
  return canonicalToOpenAiChatRequest(canonical);
}

describe("canonical → openai-chat request: what api.openai.com would refuse", () => {
  it("Claude Code → gpt-4.1: no reasoning_effort for a model that does not reason (a 400 upstream), with a warning", () => {
    const { value, warnings } = toChat("gpt-4.1");
    assert.equal(value.reasoning_effort, undefined);
    assert.ok(warnings.includes("`reasoning_effort` was dropped: gpt-4.1 does not reason"), String(warnings));
    for (const model of ["gpt-4o", "gpt-4o-mini", "gpt-3.5-turbo", "chatgpt-4o-latest", "gpt-5-chat-latest"]) {
      assert.equal(toChat(model).value.reasoning_effort, undefined, model);
    }
  });

  it("reasoning models (and ids it does not know, e.g. other compatible servers) keep the effort", () => {
    for (const model of ["o4-mini", "o3", "gpt-5", "gpt-5.1-codex", "deepseek-reasoner", "openai/gpt-oss-120b"]) {
      assert.equal(toChat(model).value.reasoning_effort, "high", model);
    }
  });

  it("Claude Code's ~150-character user id becomes its sha256 (64 characters, OpenAI's limit); short ids stay", () => {
    const { value } = toChat("gpt-4.1");
    assert.ok(USER_ID.length > 64);
    assert.equal(value.user, createHash("sha256").update(USER_ID).digest("hex"));
    const short = anthropicRequestToCanonical({ ...claudeCodeRequest("gpt-4.1"), metadata: { user_id: "u-1" } });
    assert.equal(canonicalToOpenAiChatRequest(short.value).value.user, "u-1");
  });
});
