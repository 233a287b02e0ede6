import { claudeCodeTools } from "./claude-code-tools.ts";
import {
  createRng,
  hex,
  numbered,
  pick,
  type Rng,
  reasoning,
  repoPath,
  sourceFile,
  testOutput,
  thinkingSignature,
  toolUseId,
  uuid,
} from "./synthetic-text.ts";

// A request shaped like Claude Code 2.1.197's (shared/CLIENTS.md §1.3) deep into a session: attribution block first
// in `system`, 25 tools, a long tool-use history, adaptive thinking, max_tokens 64000, stream: true.

type CacheControl = { type: "ephemeral" };
type TextBlock = { type: "text"; text: string; cache_control?: CacheControl };
type ThinkingBlock = { type: "thinking"; thinking: string; signature: string };
type ToolUseBlock = { type: "tool_use"; id: string; name: string; input: Record<string, unknown> };
type ToolResultBlock = { type: "tool_result"; tool_use_id: string; content: string; is_error?: boolean };
type AssistantMessage = { role: "assistant"; content: Array<TextBlock | ThinkingBlock | ToolUseBlock> };
type UserMessage = { role: "user"; content: Array<TextBlock | ToolResultBlock> };
type Message = AssistantMessage | UserMessage;

export interface ClaudeCodeRequest {
  body: string;
  headers: Record<string, string>;
  sessionId: string;
}

export const claudeCodeVersion = "2.1.197";
const projectRoot = "/home/dev/tollgate";

export const claudeCodeBetas = [
  "claude-code-20250219",
  "context-1m-2025-08-07",
  "interleaved-thinking-2025-05-14",
  "thinking-token-count-2026-05-13",
  "context-management-2025-06-27",
  "prompt-caching-scope-2026-01-05",
  "mid-conversation-system-2026-04-07",
  "effort-2025-11-24",
].join(",");

/** The headers Claude Code sends (besides content-type and its credential). */
export function claudeCodeHeaders(sessionId: string): Record<string, string> {
  return {
    accept: "application/json",
    "anthropic-version": "2023-06-01",
    "anthropic-beta": claudeCodeBetas,
    "anthropic-dangerous-direct-browser-access": "true",
    "x-app": "cli",
    "user-agent": `claude-cli/${claudeCodeVersion} (external, sdk-cli)`,
    "x-claude-code-session-id": sessionId,
    "x-stainless-arch": "x64",
    "x-stainless-lang": "js",
    "x-stainless-os": "Linux",
    "x-stainless-package-version": "0.74.0",
    "x-stainless-retry-count": "0",
    "x-stainless-runtime": "node",
    "x-stainless-runtime-version": "v24.21.0",
    "x-stainless-timeout": "600",
  };
}

function systemBlocks(): TextBlock[] {
  const guidance = [
    "You are an interactive CLI tool that helps users with software engineering tasks. Use the instructions below and the tools available to you to assist the user.",
    "IMPORTANT: Assist with authorized security testing, defensive security, CTF challenges, and educational contexts. Refuse requests for destructive techniques, DoS attacks, mass targeting, supply chain compromise, or detection evasion for malicious purposes.",
    "IMPORTANT: You must NEVER generate or guess URLs for the user unless you are confident that the URLs are for helping the user with programming.",
    "# Tone and style\n- Only use emojis if the user explicitly requests it.\n- Your output will be displayed on a command line interface. Your responses should be short and concise. You can use Github-flavored markdown for formatting.\n- Output text to communicate with the user; all text you output outside of tool use is displayed to the user.\n- NEVER create files unless they're absolutely necessary for achieving your goal. ALWAYS prefer editing an existing file to creating a new one.",
    "# Professional objectivity\nPrioritize technical accuracy and truthfulness over validating the user's beliefs. Focus on facts and problem-solving, providing direct, objective technical info without any unnecessary superlatives, praise, or emotional validation.",
    "# Task Management\nYou have access to the TodoWrite tools to help you manage and plan tasks. Use these tools VERY frequently to ensure that you are tracking your tasks and giving the user visibility into your progress. It is critical that you mark todos as completed as soon as you are done with a task. Do not batch up multiple tasks before marking them as completed.",
    "# Doing tasks\nThe user will primarily request you perform software engineering tasks. This includes solving bugs, adding new functionality, refactoring code, explaining code, and more. For these tasks the following steps are recommended:\n- Use the TodoWrite tool to plan the task if required\n- Be careful not to introduce security vulnerabilities such as command injection, XSS, SQL injection, and other OWASP top 10 vulnerabilities.\n- Tool results and user messages may include <system-reminder> tags. <system-reminder> tags contain useful information and reminders. They are automatically added by the system, and bear no direct relation to the specific tool results or user messages in which they appear.",
    "# Tool usage policy\n- When doing file search, prefer to use the Task tool in order to reduce context usage.\n- You can call multiple tools in a single response. If you intend to call multiple tools and there are no dependencies between them, make all independent tool calls in parallel.\n- Use specialized tools instead of bash commands when possible, as this provides a better user experience. For file operations, use dedicated tools: Read for reading files instead of cat/head/tail, Edit for editing instead of sed/awk, and Write for creating files instead of cat with heredoc or echo redirection.",
    "# Code References\nWhen referencing specific functions or pieces of code include the pattern `file_path:line_number` to allow the user to easily navigate to the source code location.",
    `Here is useful information about the environment you are running in:\n<env>\nWorking directory: ${projectRoot}\nIs directory a git repo: Yes\nPlatform: linux\nOS Version: Linux 6.12.48\nToday's date: 2026-09-14\n</env>\nYou are powered by the model named Opus 4.8. The exact model ID is claude-opus-4-8.\n\nAssistant knowledge cutoff is March 2026.`,
    "gitStatus: This is the git status at the start of the conversation. Note that this status is a snapshot in time, and will not update during the conversation.\nCurrent branch: feat/log-batching\n\nMain branch (you will usually use this for PRs): main\n\nStatus:\nM src/store/log-writer.ts\nM test/store/log-writer.test.ts\n?? bench/\n\nRecent commits:\n4f1c2ab store: add request_logs migration\n9e07d11 metering: split cache write buckets\n1b2c3d4 http: pass anthropic-beta through unchanged",
  ];
  return [
    // Claude Code's attribution block: always first, stripped by position upstream (CLIENTS.md §1.2).
    { type: "text", text: `x-anthropic-billing-header: cc_version=${claudeCodeVersion}.8e1; cc_entrypoint=sdk-cli;` },
    {
      type: "text",
      text: "You are Claude Code, Anthropic's official CLI for Claude.",
      cache_control: { type: "ephemeral" },
    },
    { type: "text", text: guidance.join("\n\n"), cache_control: { type: "ephemeral" } },
  ];
}

const userRequests = [
  "The request log writer drops rows when the process exits between flushes. Make it flush on SIGTERM and add a test.",
  "Now batch the inserts: one transaction per 100 rows or per 50 ms, whichever comes first.",
  "Tests pass locally but the type checker complains about the Usage import. Fix it without changing the contract.",
  "Add the session id and agent version columns to the log and backfill them from the headers.",
  "Can you check the metering path for streams that end without message_stop? They should still be logged.",
  "Rename the budget counter module to counters/memory.ts and update every import.",
] as const;

function claudeMdReminder(): TextBlock {
  return {
    type: "text",
    text: `<system-reminder>\nAs you answer the user's questions, you can use the following context:\n# claudeMd\nCodebase and user instructions are shown below. Be sure to adhere to these instructions.\n\nContents of ${projectRoot}/CLAUDE.md (project instructions, checked into the codebase):\n\n# Tollgate\n- TypeScript strict, ESM, Node 24; relative imports end in .ts.\n- Tests: node:test, files test/**/<name>.test.ts; run one with node --test <file>.\n- Never change src/metering/usage.ts without updating the pricing tests.\n- Money is integer nano-dollars.\n\n      IMPORTANT: this context may or may not be relevant to your tasks. You should not respond to this context unless it is highly relevant to your task.\n</system-reminder>`,
  };
}

/** One read → search → edit → test cycle, as Claude Code's history records it. */
function toolCycle(rng: Rng): Message[] {
  const file = repoPath(rng);
  const absolute = `${projectRoot}/${file}`;
  const code = sourceFile(rng, 140 + Math.floor(rng() * 160));
  const start = Math.floor(rng() * (code.length - 20));
  const oldLines = code.slice(start, start + 6 + Math.floor(rng() * 8));
  const newLines = oldLines.map((line) => line.replace("limit", "maxRows"));
  newLines.splice(1, 0, "  // Flush before exit so no row is lost on SIGTERM.");

  const readId = toolUseId(rng);
  const grepId = toolUseId(rng);
  const editId = toolUseId(rng);
  const bashId = toolUseId(rng);
  const grepHits = Array.from({ length: 8 + Math.floor(rng() * 12) }, (_, i) => {
    const line = code[Math.floor(rng() * code.length)] ?? "";
    return `${projectRoot}/${repoPath(rng)}:${10 + i * 7}:${line}`;
  });

  return [
    {
      role: "assistant",
      content: [
        {
          type: "thinking",
          thinking: reasoning(rng, 6 + Math.floor(rng() * 10), file),
          signature: thinkingSignature(rng),
        },
        { type: "text", text: `Let me look at \`${file}\` first.` },
        { type: "tool_use", id: readId, name: "Read", input: { file_path: absolute } },
      ],
    },
    { role: "user", content: [{ type: "tool_result", tool_use_id: readId, content: numbered(code, 1) }] },
    {
      role: "assistant",
      content: [
        {
          type: "tool_use",
          id: grepId,
          name: "Grep",
          input: {
            pattern: pick(rng, ["flush", "limit", "record", "usage"]),
            path: `${projectRoot}/src`,
            output_mode: "content",
            "-n": true,
          },
        },
      ],
    },
    { role: "user", content: [{ type: "tool_result", tool_use_id: grepId, content: grepHits.join("\n") }] },
    {
      role: "assistant",
      content: [
        {
          type: "thinking",
          thinking: reasoning(rng, 3 + Math.floor(rng() * 5), file),
          signature: thinkingSignature(rng),
        },
        {
          type: "tool_use",
          id: editId,
          name: "Edit",
          input: { file_path: absolute, old_string: oldLines.join("\n"), new_string: newLines.join("\n") },
        },
      ],
    },
    {
      role: "user",
      content: [
        {
          type: "tool_result",
          tool_use_id: editId,
          content: `The file ${absolute} has been updated. Here's the result of running \`cat -n\` on a snippet of the edited file:\n${numbered(newLines, start + 1)}`,
        },
      ],
    },
    {
      role: "assistant",
      content: [
        {
          type: "tool_use",
          id: bashId,
          name: "Bash",
          input: {
            command: `npx tsc -p tsconfig.test.json --noEmit && node --test ${file.replace("src/", "test/").replace(".ts", ".test.ts")}`,
            description: "Type-check and run the affected tests",
            timeout: 120000,
          },
        },
      ],
    },
    {
      role: "user",
      content: [{ type: "tool_result", tool_use_id: bashId, content: testOutput(rng, file), is_error: false }],
    },
  ];
}

/**
 * Builds the request body, growing the history one tool cycle at a time until the JSON is at least `targetBytes`.
 * Deterministic for a given seed.
 */
export function claudeCodeRequest(targetBytes = 500_000, seed = 20260914): ClaudeCodeRequest {
  const rng = createRng(seed);
  const sessionId = uuid(rng);
  const deviceId = hex(rng, 64);
  const request = {
    model: "claude-opus-4-8",
    messages: [] as Message[],
    system: systemBlocks(),
    tools: claudeCodeTools(),
    metadata: { user_id: JSON.stringify({ device_id: deviceId, account_uuid: "", session_id: sessionId }) },
    max_tokens: 64000,
    thinking: { type: "adaptive" },
    context_management: { edits: [{ type: "clear_thinking_20251015", keep: "all" }] },
    output_config: { effort: "high" },
    stream: true,
  };

  const messages: Message[] = [
    { role: "user", content: [claudeMdReminder(), { type: "text", text: userRequests[0] }] },
  ];
  let cycles = 0;
  let size = JSON.stringify({ ...request, messages }).length;
  while (size < targetBytes) {
    messages.push(...toolCycle(rng));
    cycles++;
    // Every third cycle the agent reports back and the user asks for the next change.
    if (cycles % 3 === 0) {
      messages.push({
        role: "assistant",
        content: [{ type: "text", text: `Done: ${reasoning(rng, 3, repoPath(rng))}` }],
      });
      messages.push({
        role: "user",
        content: [{ type: "text", text: userRequests[(cycles / 3) % userRequests.length] ?? "" }],
      });
    }
    size = JSON.stringify({ ...request, messages }).length;
  }
  // The history ends on a user turn (a tool result or a prompt); Claude Code adds a cache breakpoint to its last block.
  const last = messages.at(-1);
  if (last?.role !== "user") throw new Error("the Claude Code history must end on a user turn");
  last.content.push({
    type: "text",
    text: "Looks good. Run the whole store suite once more.",
    cache_control: { type: "ephemeral" },
  });

  const body = JSON.stringify({ ...request, messages });
  return { body, headers: claudeCodeHeaders(sessionId), sessionId };
}
