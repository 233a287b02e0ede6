import type { IncomingHttpHeaders } from "node:http";

/** Who and what inside the client's session a request belongs to. */
export interface SessionAttribution {
  sessionId: string | null;
  agentId: string | null;
  parentAgentId: string | null;
  turnId: string | null;
  workspace: string | null;
}

const MAX_ID_LENGTH = 200;

function header(headers: IncomingHttpHeaders, name: string): string | null {
  const v = headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s ? s.slice(0, MAX_ID_LENGTH) : null;
}

/**
 * Session id sources, first match wins: an explicit `x-tollgate-session-id`; Claude Code's
 * `x-claude-code-session-id`; Codex `session-id` (older: `session_id`, `conversation_id`); opencode `x-session-id`;
 * the session inside Claude Code's `metadata.user_id` (body). Null when the client sends none.
 */
export function attributeSession(headers: IncomingHttpHeaders, body: unknown): SessionAttribution {
  const turn = codexTurnMetadata(headers);
  const sessionId =
    header(headers, "x-tollgate-session-id") ??
    header(headers, "x-claude-code-session-id") ??
    header(headers, "session-id") ??
    header(headers, "session_id") ??
    header(headers, "conversation_id") ??
    header(headers, "x-session-id") ??
    sessionFromAnthropicMetadata(body) ??
    turn.sessionId;
  return {
    sessionId,
    agentId: header(headers, "x-claude-code-agent-id"),
    parentAgentId: header(headers, "x-claude-code-parent-agent-id"),
    turnId: turn.turnId,
    workspace: turn.workspace,
  };
}

/**
 * Claude Code's `metadata.user_id`: now a JSON string `{"device_id":…,"account_uuid":…,"session_id":…}`;
 * older builds sent `user_<hex>_account_<uuid?>_session_<uuid>`.
 */
export function sessionFromAnthropicMetadata(body: unknown): string | null {
  if (typeof body !== "object" || body === null) return null;
  const metadata = (body as { metadata?: unknown }).metadata;
  if (typeof metadata !== "object" || metadata === null) return null;
  const userId = (metadata as { user_id?: unknown }).user_id;
  if (typeof userId !== "string") return null;
  if (userId.startsWith("{")) {
    try {
      const parsed: unknown = JSON.parse(userId);
      const sid =
        typeof parsed === "object" && parsed !== null ? (parsed as { session_id?: unknown }).session_id : undefined;
      return typeof sid === "string" && sid !== "" ? sid.slice(0, MAX_ID_LENGTH) : null;
    } catch {
      return null;
    }
  }
  const legacy = /_session_([0-9a-fA-F-]{8,})$/.exec(userId);
  return legacy?.[1] ?? null;
}

interface CodexTurn {
  sessionId: string | null;
  turnId: string | null;
  workspace: string | null;
}

/** Codex sends `x-codex-turn-metadata`: JSON with session_id, turn_id and (some versions) the workspace. */
function codexTurnMetadata(headers: IncomingHttpHeaders): CodexTurn {
  const none: CodexTurn = { sessionId: null, turnId: null, workspace: null };
  const raw = headers["x-codex-turn-metadata"];
  const text = Array.isArray(raw) ? raw[0] : raw;
  if (!text) return none;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null) return none;
    const m = parsed as Record<string, unknown>;
    const str = (v: unknown) => (typeof v === "string" && v !== "" ? v.slice(0, 500) : null);
    const workspaces = m.workspaces;
    const firstWorkspace =
      typeof workspaces === "object" && workspaces !== null
        ? Object.keys(workspaces as Record<string, unknown>)[0]
        : undefined;
    return {
      sessionId: str(m.session_id),
      turnId: str(m.turn_id),
      workspace: str(m.workspace) ?? str(m.cwd) ?? str(firstWorkspace),
    };
  } catch {
    return none;
  }
}
