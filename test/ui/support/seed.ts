import type { TestGateway } from "../../helpers/gateway.ts";

/** Traffic and entities for the dashboard tests, through the real gateway and its management API. */

export async function adminApi<T>(
  gw: TestGateway,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${gw.url}/api${path}`, {
    method,
    headers: {
      authorization: `Bearer ${gw.adminToken}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text === "" ? null : JSON.parse(text)) as T };
}

/** One Claude Code turn (streamed, with its session header); anonymous unless `key` is given. */
export async function claudeTurn(
  gw: TestGateway,
  options: { session: string; key?: string; model?: string },
): Promise<number> {
  const res = await fetch(`${gw.url}/v1/messages?beta=true`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-api-key": options.key ?? "x",
      "anthropic-version": "2023-06-01",
      "user-agent": "claude-cli/2.1.197 (external, sdk-cli)",
      "x-claude-code-session-id": options.session,
    },
    body: JSON.stringify({
      model: options.model ?? "claude-sonnet-4-5",
      max_tokens: 500,
      stream: true,
      messages: [{ role: "user", content: "go" }],
    }),
  });
  await res.text();
  return res.status;
}

/** An OpenAI Chat Completions call without a session. */
export async function openAiCall(gw: TestGateway, key?: string): Promise<number> {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key ?? "x"}` },
    body: JSON.stringify({ model: "gpt-4.1-mini", messages: [{ role: "user", content: "hi" }] }),
  });
  await res.text();
  return res.status;
}
