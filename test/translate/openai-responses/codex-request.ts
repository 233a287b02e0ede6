/** A Codex-shaped Responses request (what Codex CLI sends mid-session), shared by the request tests. */
export const PATCH = "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch";

export function codexTools(): unknown[] {
  return [
    {
      type: "function",
      name: "shell",
      description: "Runs a shell command",
      strict: false,
      parameters: {
        type: "object",
        properties: { command: { type: "array", items: { type: "string" } } },
        required: ["command"],
        additionalProperties: false,
      },
    },
    {
      type: "custom",
      name: "apply_patch",
      description: "Use the `apply_patch` tool to edit files.",
      format: {
        type: "grammar",
        syntax: "lark",
        definition: 'start: begin_patch hunk+ end_patch\nbegin_patch: "*** Begin Patch"',
      },
    },
    { type: "local_shell" },
    {
      type: "namespace",
      name: "mcp__calendar__",
      description: "Calendar MCP server",
      tools: [
        {
          type: "function",
          name: "create_event",
          description: "Create an event",
          parameters: { type: "object", properties: { title: { type: "string" } } },
        },
      ],
    },
    { type: "web_search" },
  ];
}

export function codexRequest(): Record<string, unknown> {
  return {
    model: "gpt-5.1-codex",
    instructions: "You are Codex, a coding agent.",
    input: [
      {
        type: "message",
        role: "developer",
        content: [{ type: "input_text", text: "<permissions>workspace-write</permissions>" }],
      },
      { type: "message", role: "user", content: [{ type: "input_text", text: "# AGENTS.md\nUse pnpm." }] },
      {
        type: "message",
        role: "user",
        content: [
          { type: "input_text", text: "fix the bug" },
          { type: "input_image", image_url: "data:image/png;base64,iVBORw0KGgo=", detail: "auto" },
        ],
      },
      {
        type: "reasoning",
        summary: [{ type: "summary_text", text: "Looking around" }],
        content: null,
        encrypted_content: "gAAAA-enc",
      },
      { type: "function_call", name: "shell", arguments: '{"command":["ls"]}', call_id: "call_1" },
      { type: "function_call_output", call_id: "call_1", output: "a.txt" },
      { type: "custom_tool_call", status: "completed", call_id: "call_2", name: "apply_patch", input: PATCH },
      { type: "custom_tool_call_output", call_id: "call_2", output: "Success" },
      {
        type: "local_shell_call",
        id: "lsh_1",
        call_id: "call_3",
        status: "completed",
        action: {
          type: "exec",
          command: ["bash", "-lc", "pwd"],
          env: {},
          timeout_ms: 1000,
          working_directory: "/repo",
        },
      },
      { type: "function_call_output", call_id: "call_3", output: '{"output":"/repo\\n","metadata":{"exit_code":0}}' },
      {
        type: "function_call",
        name: "create_event",
        namespace: "mcp__calendar__",
        arguments: '{"title":"standup"}',
        call_id: "call_4",
      },
      {
        type: "function_call_output",
        call_id: "call_4",
        output: [
          { type: "input_text", text: "created" },
          { type: "input_image", image_url: "https://example.com/cal.png" },
        ],
      },
      { type: "message", role: "assistant", content: [{ type: "output_text", text: "Done." }] },
      { type: "message", role: "user", content: "thanks" },
    ],
    tools: codexTools(),
    tool_choice: "auto",
    parallel_tool_calls: false,
    reasoning: { effort: "high", summary: "auto" },
    store: false,
    stream: true,
    include: ["reasoning.encrypted_content"],
    prompt_cache_key: "0197-session",
    text: { verbosity: "low" },
  };
}
