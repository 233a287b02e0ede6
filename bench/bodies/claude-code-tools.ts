// The 25 tool definitions Claude Code 2.1.x sends on every request, in its shape: draft-07 JSON schemas with
// `additionalProperties: false` and long prose descriptions. Descriptions are paraphrased and shortened; the size and
// structure are what matter for the bench (tools are ~15% of a real request body).

export interface AnthropicTool {
  name: string;
  description: string;
  input_schema: Record<string, unknown>;
}

type Property = Record<string, unknown>;

function schema(properties: Record<string, Property>, required: readonly string[]): Record<string, unknown> {
  return {
    type: "object",
    properties,
    required,
    additionalProperties: false,
    $schema: "http://json-schema.org/draft-07/schema#",
  };
}

const str = (description: string): Property => ({ type: "string", description });
const num = (description: string): Property => ({ type: "number", description });
const bool = (description: string): Property => ({ type: "boolean", description });

const bashDescription = `Executes a given bash command in a persistent shell session with optional timeout, ensuring proper handling and security measures.

IMPORTANT: This tool is for terminal operations like git, npm, docker, etc. DO NOT use it for file operations (reading, writing, editing, searching, finding files) - use the specialized tools for this instead.

Before executing the command, please follow these steps:

1. Directory Verification:
   - If the command will create new directories or files, first use \`ls\` to verify the parent directory exists and is the correct location
   - For example, before running "mkdir foo/bar", first use \`ls foo\` to check that "foo" exists and is the intended parent directory

2. Command Execution:
   - Always quote file paths that contain spaces with double quotes (e.g., cd "path with spaces/file.txt")
   - Examples of proper quoting:
     - cd "/Users/name/My Documents" (correct)
     - cd /Users/name/My Documents (incorrect - will fail)
     - python "/path/with spaces/script.py" (correct)
     - python /path/with spaces/script.py (incorrect - will fail)
   - After ensuring proper quoting, execute the command.
   - Capture the output of the command.

Usage notes:
  - The command argument is required.
  - You can specify an optional timeout in milliseconds (up to 600000ms / 10 minutes). If not specified, commands will timeout after 120000ms (2 minutes).
  - It is very helpful if you write a clear, concise description of what this command does in 5-10 words.
  - If the output exceeds 30000 characters, output will be truncated before being returned to you.
  - You can use the \`run_in_background\` parameter to run the command in the background, which allows you to continue working while the command runs. You can monitor the output using the Bash tool as it becomes available. You do not need to use '&' at the end of the command when using this parameter.
  - Avoid using Bash with the \`find\`, \`grep\`, \`cat\`, \`head\`, \`tail\`, \`sed\`, \`awk\`, or \`echo\` commands, unless explicitly instructed or when these commands are truly necessary for the task. Instead, always prefer using the dedicated tools for these commands:
    - File search: Use Glob (NOT find or ls)
    - Content search: Use Grep (NOT grep or rg)
    - Read files: Use Read (NOT cat/head/tail)
    - Edit files: Use Edit (NOT sed/awk)
    - Write files: Use Write (NOT echo >/cat <<EOF)
    - Communication: Output text directly (NOT echo/printf)
  - When issuing multiple commands:
    - If the commands are independent and can run in parallel, make multiple Bash tool calls in a single message.
    - If the commands depend on each other and must run sequentially, use a single Bash call with '&&' to chain them together.
    - Use ';' only when you need to run commands sequentially but don't care if earlier commands fail.
    - DO NOT use newlines to separate commands (newlines are ok in quoted strings).
  - Try to maintain your current working directory throughout the session by using absolute paths and avoiding usage of \`cd\`. You may use \`cd\` if the User explicitly requests it.

# Committing changes with git

Only create commits when requested by the user. If unclear, ask first. When the user asks you to create a new git commit, follow these steps carefully:

Git Safety Protocol:
- NEVER update the git config
- NEVER run destructive/irreversible git commands (like push --force, hard reset, etc) unless the user explicitly requests them
- NEVER skip hooks (--no-verify, --no-gpg-sign, etc) unless the user explicitly requests it
- NEVER run force push to main/master, warn the user if they request it
- Avoid git commit --amend. ONLY use --amend when the user explicitly requested amend, or when adding edits from a pre-commit hook
- Before amending: ALWAYS check authorship (git log -1 --format='%an %ae')
- NEVER commit changes unless the user explicitly asks you to. It is VERY IMPORTANT to only commit when explicitly asked, otherwise the user will feel that you are being too proactive.

1. Run the following bash commands in parallel, each using the Bash tool:
  - Run a git status command to see all untracked files.
  - Run a git diff command to see both staged and unstaged changes that will be committed.
  - Run a git log command to see recent commit messages, so that you can follow this repository's commit message style.
2. Analyze all staged changes (both previously staged and newly added) and draft a commit message:
  - Summarize the nature of the changes (eg. new feature, enhancement to an existing feature, bug fix, refactoring, test, docs, etc.).
  - Do not commit files that likely contain secrets (.env, credentials.json, etc). Warn the user if they specifically request to commit those files
  - Draft a concise (1-2 sentences) commit message that focuses on the "why" rather than the "what"
3. Run the following commands: add relevant untracked files to the staging area, create the commit, and run git status after the commit completes to verify success.
4. If the commit fails due to pre-commit hook changes, retry ONCE.

# Creating pull requests
Use the gh command via the Bash tool for ALL GitHub-related tasks including working with issues, pull requests, checks, and releases. If given a Github URL use the gh command to get the information needed.`;

const taskDescription = `Launch a new agent to handle complex, multi-step tasks autonomously.

The Task tool launches specialized agents (subprocesses) that autonomously handle complex tasks. Each agent type has specific capabilities and tools available to it.

Available agent types and the tools they have access to:
- general-purpose: General-purpose agent for researching complex questions, searching for code, and executing multi-step tasks. When you are searching for a keyword or file and are not confident that you will find the right match in the first few tries use this agent to perform the search for you. (Tools: *)
- statusline-setup: Use this agent to configure the user's Claude Code status line setting. (Tools: Read, Edit)
- Explore: Fast agent specialized for exploring codebases. Use this when you need to quickly find files by patterns, search code for keywords, or answer questions about the codebase. When calling this agent, specify the desired thoroughness level: "quick", "medium", or "very thorough". (Tools: Glob, Grep, Read, Bash)
- Plan: Software architect agent for designing implementation plans. Returns step-by-step plans, identifies critical files, and considers architectural trade-offs. (Tools: All tools except Task, Edit, Write, NotebookEdit)

When using the Task tool, you must specify a subagent_type parameter to select which agent type to use.

When NOT to use the Task tool:
- If you want to read a specific file path, use the Read or Glob tool instead of the Task tool, to find the match more quickly
- If you are searching for a specific class definition like "class Foo", use the Glob tool instead, to find the match more quickly
- If you are searching for code within a specific file or set of 2-3 files, use the Read tool instead of the Task tool, to find the match more quickly
- Other tasks that are not related to the agent descriptions above

Usage notes:
- Always include a short description (3-5 words) summarizing what the agent will do
- Launch multiple agents concurrently whenever possible, to maximize performance; to do that, use a single message with multiple tool uses
- When the agent is done, it will return a single message back to you. The result returned by the agent is not visible to the user. To show the user the result, you should send a text message back to the user with a concise summary of the result.
- You can optionally run agents in the background using the run_in_background parameter. When an agent runs in the background, you will need to use TaskOutput to retrieve its results once it's done.
- Agents can be resumed using the \`resume\` parameter by passing the agent ID from a previous invocation.
- Provide clear, detailed prompts so the agent can work autonomously and return exactly the information you need.
- The agent's outputs should generally be trusted
- Clearly tell the agent whether you expect it to write code or just to do research (search, file reads, web fetches, etc.), since it is not aware of the user's intent`;

const readDescription = `Reads a file from the local filesystem. You can access any file directly by using this tool.
Assume this tool is able to read all files on the machine. If the User provides a path to a file assume that path is valid. It is okay to read a file that does not exist; an error will be returned.

Usage:
- The file_path parameter must be an absolute path, not a relative path
- By default, it reads up to 2000 lines starting from the beginning of the file
- You can optionally specify a line offset and limit (especially handy for long files), but it's recommended to read the whole file by not providing these parameters
- Any lines longer than 2000 characters will be truncated
- Results are returned using cat -n format, with line numbers starting at 1
- This tool allows Claude Code to read images (eg PNG, JPG, etc). When reading an image file the contents are presented visually as Claude Code is a multimodal LLM.
- This tool can read PDF files (.pdf). PDFs are processed page by page, extracting both text and visual content for analysis.
- This tool can read Jupyter notebooks (.ipynb files) and returns all cells with their outputs, combining code, text, and visualizations.
- This tool can only read files, not directories. To read a directory, use an ls command via the Bash tool.
- You can call multiple tools in a single response. It is always better to speculatively read multiple potentially useful files in parallel.
- If you read a file that exists but has empty contents you will receive a system reminder warning in place of file contents.`;

const editDescription = `Performs exact string replacements in files.

Usage:
- You must use your \`Read\` tool at least once in the conversation before editing. This tool will error if you attempt an edit without reading the file.
- When editing text from Read tool output, ensure you preserve the exact indentation (tabs/spaces) as it appears AFTER the line number prefix. The line number prefix format is: spaces + line number + arrow. Everything after that arrow is the actual file content to match. Never include any part of the line number prefix in the old_string or new_string.
- ALWAYS prefer editing existing files in the codebase. NEVER write new files unless explicitly required.
- Only use emojis if the user explicitly requests it. Avoid adding emojis to files unless asked.
- The edit will FAIL if \`old_string\` is not unique in the file. Either provide a larger string with more surrounding context to make it unique or use \`replace_all\` to change every instance of \`old_string\`.
- Use \`replace_all\` for replacing and renaming strings across the file. This parameter is useful if you want to rename a variable for instance.`;

const writeDescription = `Writes a file to the local filesystem.

Usage:
- This tool will overwrite the existing file if there is one at the provided path.
- If this is an existing file, you MUST use the Read tool first to read the file's contents. This tool will fail if you did not read the file first.
- ALWAYS prefer editing existing files in the codebase. NEVER write new files unless explicitly required.
- NEVER proactively create documentation files (*.md) or README files. Only create documentation files if explicitly requested by the User.
- Only use emojis if the user explicitly requests it. Avoid writing emojis to files unless asked.`;

const grepDescription = `A powerful search tool built on ripgrep

  Usage:
  - ALWAYS use Grep for search tasks. NEVER invoke \`grep\` or \`rg\` as a Bash command. The Grep tool has been optimized for correct permissions and access.
  - Supports full regex syntax (e.g., "log.*Error", "function\\s+\\w+")
  - Filter files with glob parameter (e.g., "*.js", "**/*.tsx") or type parameter (e.g., "js", "py", "rust")
  - Output modes: "content" shows matching lines, "files_with_matches" shows only file paths (default), "count" shows match counts
  - Use Task tool for open-ended searches requiring multiple rounds
  - Pattern syntax: Uses ripgrep (not grep) - literal braces need escaping (use \`interface\\{\\}\` to find \`interface{}\` in Go code)
  - Multiline matching: By default patterns match within single lines only. For cross-line patterns like \`struct \\{[\\s\\S]*?field\`, use \`multiline: true\``;

const globDescription = `- Fast file pattern matching tool that works with any codebase size
- Supports glob patterns like "**/*.js" or "src/**/*.ts"
- Returns matching file paths sorted by modification time
- Use this tool when you need to find files by name patterns
- When you are doing an open ended search that may require multiple rounds of globbing and grepping, use the Agent tool instead
- You can call multiple tools in a single response. It is always better to speculatively perform multiple searches in parallel if they are potentially useful.`;

const todoDescription = `Use this tool to create and manage a structured task list for your current coding session. This helps you track progress, organize complex tasks, and demonstrate thoroughness to the user.
It also helps the user understand the progress of the task and overall progress of their requests.

## When to Use This Tool
Use this tool proactively in these scenarios:

1. Complex multi-step tasks - When a task requires 3 or more distinct steps or actions
2. Non-trivial and complex tasks - Tasks that require careful planning or multiple operations
3. User explicitly requests todo list - When the user directly asks you to use the todo list
4. User provides multiple tasks - When users provide a list of things to be done (numbered or comma-separated)
5. After receiving new instructions - Immediately capture user requirements as todos
6. When you start working on a task - Mark it as in_progress BEFORE beginning work. Ideally you should only have one todo as in_progress at a time
7. After completing a task - Mark it as completed and add any new follow-up tasks discovered during implementation

## When NOT to Use This Tool

Skip using this tool when:
1. There is only a single, straightforward task
2. The task is trivial and tracking it provides no organizational benefit
3. The task can be completed in less than 3 trivial steps
4. The task is purely conversational or informational

## Task States and Management

1. **Task States**: Use these states to track progress:
   - pending: Task not yet started
   - in_progress: Currently working on (limit to ONE task at a time)
   - completed: Task finished successfully

   **IMPORTANT**: Task descriptions must have two forms:
   - content: The imperative form describing what needs to be done (e.g., "Run tests", "Build the project")
   - activeForm: The present continuous form shown during execution (e.g., "Running tests", "Building the project")

2. **Task Management**:
   - Update task status in real-time as you work
   - Mark tasks complete IMMEDIATELY after finishing (don't batch completions)
   - Exactly ONE task must be in_progress at any time (not less, not more)
   - Complete current tasks before starting new ones
   - Remove tasks that are no longer relevant from the list entirely

3. **Task Completion Requirements**:
   - ONLY mark a task as completed when you have FULLY accomplished it
   - If you encounter errors, blockers, or cannot finish, keep the task as in_progress
   - Never mark a task as completed if tests are failing, implementation is partial, or you encountered unresolved errors

When in doubt, use this tool. Being proactive with task management demonstrates attentiveness and ensures you complete all requirements successfully.`;

const webFetchDescription = `- Fetches content from a specified URL and processes it using an AI model
- Takes a URL and a prompt as input
- Fetches the URL content, converts HTML to markdown
- Processes the content with the prompt using a small, fast model
- Returns the model's response about the content
- Use this tool when you need to retrieve and analyze web content

Usage notes:
  - IMPORTANT: If an MCP-provided web fetch tool is available, prefer using that tool instead of this one, as it may have fewer restrictions.
  - The URL must be a fully-formed valid URL
  - HTTP URLs will be automatically upgraded to HTTPS
  - The prompt should describe what information you want to extract from the page
  - This tool is read-only and does not modify any files
  - Results may be summarized if the content is very large
  - Includes a self-cleaning 15-minute cache for faster responses when repeatedly accessing the same URL
  - When a URL redirects to a different host, the tool will inform you and provide the redirect URL in a special format. You should then make a new WebFetch request with the redirect URL to fetch the content.`;

const webSearchDescription = `- Allows Claude to search the web and use the results to inform responses
- Provides up-to-date information for current events and recent data
- Returns search result information formatted as search result blocks, including links as markdown hyperlinks
- Use this tool for accessing information beyond Claude's knowledge cutoff
- Searches are performed automatically within a single API call

CRITICAL REQUIREMENT - You MUST follow this:
  - After answering the user's question, you MUST include a "Sources:" section at the end of your response
  - In the Sources section, list all relevant URLs from the search results as markdown hyperlinks: [Title](URL)

Usage notes:
  - Domain filtering is supported to include or block specific websites
  - Web search is only available in the US`;

const askDescription = `Use this tool when you need to ask the user questions during execution. This allows you to:
1. Gather user preferences or requirements
2. Clarify ambiguous instructions
3. Get decisions on implementation choices as you work
4. Offer choices to the user about what direction to take.

Usage notes:
- Users will always be able to select "Other" to provide custom text input
- Use multiSelect: true to allow multiple answers to be selected for a question
- If you recommend a specific option, make that the first option in the list and add "(Recommended)" at the end of the label`;

const exitPlanDescription = `Use this tool when you are in plan mode and have finished writing your plan to the plan file and are ready for user approval.

## How This Tool Works
- You should have already written your plan to the plan file specified in the plan mode system message
- This tool does NOT take the plan content as a parameter - it will read the plan from the file you wrote
- This tool simply signals that you're done planning and ready for the user to review and approve
- The user will see the contents of your plan file when they review it

## When to Use This Tool
IMPORTANT: Only use this tool when the task requires planning the implementation steps of a task that requires writing code. For research tasks where you're gathering information, searching files, reading files or in general trying to understand the codebase - do NOT use this tool.`;

const enterPlanDescription = `Use this tool proactively when you're about to start a non-trivial implementation task. Getting user sign-off on your approach before writing code prevents wasted effort and ensures alignment. This tool transitions you into plan mode where you can explore the codebase and design an implementation approach for user approval.

## When to Use This Tool
Prefer using EnterPlanMode for implementation tasks unless they're simple: new features, multiple valid approaches, code modifications that affect existing behavior, architectural decisions, multi-file changes, unclear requirements.`;

const todoItem: Property = {
  type: "object",
  properties: {
    content: { type: "string", minLength: 1 },
    status: { type: "string", enum: ["pending", "in_progress", "completed"] },
    activeForm: { type: "string", minLength: 1 },
  },
  required: ["content", "status", "activeForm"],
  additionalProperties: false,
};

const question: Property = {
  type: "object",
  properties: {
    question: str("The complete question to ask the user. Should be clear, specific, and end with a question mark."),
    header: str("Very short label displayed as a chip/tag (max 12 chars)."),
    options: {
      type: "array",
      minItems: 2,
      maxItems: 4,
      description: "The available choices for this question. Must have 2-4 options.",
      items: {
        type: "object",
        properties: {
          label: str("The display text for this option that the user will see and select. Concise (1-5 words)."),
          description: str("Explanation of what this option means or what will happen if chosen."),
        },
        required: ["label", "description"],
        additionalProperties: false,
      },
    },
    multiSelect: { type: "boolean", default: false, description: "Set to true to allow selecting multiple options." },
  },
  required: ["question", "header", "options", "multiSelect"],
  additionalProperties: false,
};

export function claudeCodeTools(): AnthropicTool[] {
  return [
    {
      name: "Task",
      description: taskDescription,
      input_schema: schema(
        {
          description: str("A short (3-5 word) description of the task"),
          prompt: str("The task for the agent to perform"),
          subagent_type: str("The type of specialized agent to use for this task"),
          model: {
            type: "string",
            enum: ["sonnet", "opus", "haiku"],
            description: "Optional model to use for this agent. If not specified, inherits from parent.",
          },
          resume: str("Optional agent ID to resume from."),
          run_in_background: bool("Set to true to run this agent in the background."),
        },
        ["description", "prompt", "subagent_type"],
      ),
    },
    {
      name: "TaskOutput",
      description:
        "Retrieves output from a running or completed task (background shell, agent, or remote session). Takes a task_id parameter identifying the task. Returns the task output along with status information. Use block=true (default) to wait for task completion.",
      input_schema: schema(
        {
          task_id: str("The task ID to get output from"),
          block: { type: "boolean", default: true, description: "Whether to wait for completion" },
          timeout: { type: "number", minimum: 0, maximum: 600000, default: 30000, description: "Max wait time in ms" },
        },
        ["task_id", "block", "timeout"],
      ),
    },
    {
      name: "Bash",
      description: bashDescription,
      input_schema: schema(
        {
          command: str("The command to execute"),
          timeout: num("Optional timeout in milliseconds (max 600000)"),
          description: str(
            'Clear, concise description of what this command does in active voice. Never use words like "complex" or "risk" in the description - just describe what it does.',
          ),
          run_in_background: bool(
            "Set to true to run this command in the background. Use TaskOutput to read the output later.",
          ),
          dangerouslyDisableSandbox: bool(
            "Set this to true to dangerously override sandbox mode and run commands without sandboxing.",
          ),
        },
        ["command"],
      ),
    },
    {
      name: "Glob",
      description: globDescription,
      input_schema: schema(
        {
          pattern: str("The glob pattern to match files against"),
          path: str(
            'The directory to search in. If not specified, the current working directory will be used. IMPORTANT: Omit this field to use the default directory. DO NOT enter "undefined" or "null" - simply omit it for the default behavior. Must be a valid directory path if provided.',
          ),
        },
        ["pattern"],
      ),
    },
    {
      name: "Grep",
      description: grepDescription,
      input_schema: schema(
        {
          pattern: str("The regular expression pattern to search for in file contents"),
          path: str("File or directory to search in (rg PATH). Defaults to current working directory."),
          glob: str('Glob pattern to filter files (e.g. "*.js", "*.{ts,tsx}") - maps to rg --glob'),
          output_mode: {
            type: "string",
            enum: ["content", "files_with_matches", "count"],
            description:
              'Output mode: "content" shows matching lines (supports -A/-B/-C context, -n line numbers, head_limit), "files_with_matches" shows file paths (supports head_limit), "count" shows match counts (supports head_limit). Defaults to "files_with_matches".',
          },
          "-B": num(
            'Number of lines to show before each match (rg -B). Requires output_mode: "content", ignored otherwise.',
          ),
          "-A": num(
            'Number of lines to show after each match (rg -A). Requires output_mode: "content", ignored otherwise.',
          ),
          "-C": num(
            'Number of lines to show before and after each match (rg -C). Requires output_mode: "content", ignored otherwise.',
          ),
          "-n": bool(
            'Show line numbers in output (rg -n). Requires output_mode: "content", ignored otherwise. Defaults to true.',
          ),
          "-i": bool("Case insensitive search (rg -i)"),
          type: str("File type to search (rg --type). Common types: js, py, rust, go, java, etc."),
          head_limit: num(
            'Limit output to first N lines/entries, equivalent to "| head -N". Works across all output modes.',
          ),
          offset: num('Skip first N lines/entries before applying head_limit, equivalent to "| tail -n +N | head -N".'),
          multiline: bool(
            "Enable multiline mode where . matches newlines and patterns can span lines (rg -U --multiline-dotall).",
          ),
        },
        ["pattern"],
      ),
    },
    { name: "ExitPlanMode", description: exitPlanDescription, input_schema: schema({}, []) },
    {
      name: "Read",
      description: readDescription,
      input_schema: schema(
        {
          file_path: str("The absolute path to the file to read"),
          offset: num("The line number to start reading from. Only provide if the file is too large to read at once"),
          limit: num("The number of lines to read. Only provide if the file is too large to read at once."),
        },
        ["file_path"],
      ),
    },
    {
      name: "Edit",
      description: editDescription,
      input_schema: schema(
        {
          file_path: str("The absolute path to the file to modify"),
          old_string: str("The text to replace"),
          new_string: str("The text to replace it with (must be different from old_string)"),
          replace_all: {
            type: "boolean",
            default: false,
            description: "Replace all occurences of old_string (default false)",
          },
        },
        ["file_path", "old_string", "new_string"],
      ),
    },
    {
      name: "Write",
      description: writeDescription,
      input_schema: schema(
        {
          file_path: str("The absolute path to the file to write (must be absolute, not relative)"),
          content: str("The content to write to the file"),
        },
        ["file_path", "content"],
      ),
    },
    {
      name: "NotebookEdit",
      description:
        "Completely replaces the contents of a specific cell in a Jupyter notebook (.ipynb file) with new source. Jupyter notebooks are interactive documents that combine code, text, and visualizations, commonly used for data analysis and scientific computing. The notebook_path parameter must be an absolute path, not a relative path. The cell_number is 0-indexed. Use edit_mode=insert to add a new cell at the index specified by cell_number. Use edit_mode=delete to delete the cell at the index specified by cell_number.",
      input_schema: schema(
        {
          notebook_path: str("The absolute path to the Jupyter notebook file to edit (must be absolute, not relative)"),
          cell_id: str(
            "The ID of the cell to edit. When inserting a new cell, the new cell will be inserted after the cell with this ID.",
          ),
          new_source: str("The new source for the cell"),
          cell_type: {
            type: "string",
            enum: ["code", "markdown"],
            description: "The type of the cell (code or markdown).",
          },
          edit_mode: {
            type: "string",
            enum: ["replace", "insert", "delete"],
            description: "The type of edit to make.",
          },
        },
        ["notebook_path", "new_source"],
      ),
    },
    {
      name: "WebFetch",
      description: webFetchDescription,
      input_schema: schema(
        {
          url: { type: "string", format: "uri", description: "The URL to fetch content from" },
          prompt: str("The prompt to run on the fetched content"),
        },
        ["url", "prompt"],
      ),
    },
    {
      name: "TodoWrite",
      description: todoDescription,
      input_schema: schema({ todos: { type: "array", items: todoItem, description: "The updated todo list" } }, [
        "todos",
      ]),
    },
    {
      name: "WebSearch",
      description: webSearchDescription,
      input_schema: schema(
        {
          query: { type: "string", minLength: 2, description: "The search query to use" },
          allowed_domains: {
            type: "array",
            items: { type: "string" },
            description: "Only include search results from these domains",
          },
          blocked_domains: {
            type: "array",
            items: { type: "string" },
            description: "Never include search results from these domains",
          },
        },
        ["query"],
      ),
    },
    {
      name: "BashOutput",
      description:
        "- Retrieves output from a running or completed background bash shell\n- Takes a shell_id parameter identifying the shell\n- Always returns only new output since the last check\n- Returns stdout and stderr output along with shell status\n- Supports optional regex filtering to show only lines matching a pattern\n- Use this tool when you need to monitor or check the output of a long-running shell",
      input_schema: schema(
        {
          bash_id: str("The ID of the background shell to retrieve output from"),
          filter: str(
            "Optional regular expression to filter the output lines. Only lines matching this regex will be included.",
          ),
        },
        ["bash_id"],
      ),
    },
    {
      name: "KillShell",
      description:
        "- Kills a running background bash shell by its ID\n- Takes a shell_id parameter identifying the shell to kill\n- Returns a success or failure status\n- Use this tool when you need to terminate a long-running shell",
      input_schema: schema({ shell_id: str("The ID of the background shell to kill") }, ["shell_id"]),
    },
    {
      name: "TaskStop",
      description:
        "- Stops a running background task by its ID\n- Takes a task_id parameter identifying the task to stop\n- Returns a success or failure status\n- Use this tool when you need to terminate a long-running task",
      input_schema: schema({ task_id: str("The ID of the background task to stop") }, ["task_id"]),
    },
    {
      name: "AskUserQuestion",
      description: askDescription,
      input_schema: schema(
        {
          questions: {
            type: "array",
            minItems: 1,
            maxItems: 4,
            items: question,
            description: "Questions to ask the user (1-4 questions)",
          },
          answers: {
            type: "object",
            additionalProperties: { type: "string" },
            description: "User answers collected by the permission component",
          },
        },
        ["questions"],
      ),
    },
    {
      name: "Skill",
      description:
        'Execute a skill within the main conversation\n\nWhen users ask you to perform tasks, check if any of the available skills below can help complete the task more effectively. Skills provide specialized capabilities and domain knowledge.\n\nHow to invoke:\n- Use this tool with the skill name and optional arguments\n- Examples:\n  - `skill: "pdf"` - invoke the pdf skill\n  - `skill: "commit", args: "-m \'Fix bug\'"` - invoke with arguments\n\nImportant:\n- When a skill is relevant, you must invoke this tool IMMEDIATELY as your first action\n- Only use skills listed in the available skills\n- Do not invoke a skill that is already running',
      input_schema: schema(
        {
          skill: str('The skill name. E.g., "commit", "review-pr", or "pdf"'),
          args: str("Optional arguments for the skill"),
        },
        ["skill"],
      ),
    },
    {
      name: "SlashCommand",
      description:
        'Execute a slash command within the main conversation\n\nHow slash commands work:\nWhen you use this tool or when a user types a slash command, you will see <command-message>{name} is running…</command-message> followed by the expanded prompt.\n\nUsage:\n- `command` (required): The slash command to execute, including any arguments\n- Example: `command: "/review-pr 123"`\n\nIMPORTANT: Only use this tool for custom slash commands that appear in the Available Commands list below. Do NOT use for built-in CLI commands (like /help, /clear, etc.).',
      input_schema: schema(
        { command: str('The slash command to execute with its arguments, e.g., "/review-pr 123"') },
        ["command"],
      ),
    },
    { name: "EnterPlanMode", description: enterPlanDescription, input_schema: schema({}, []) },
    {
      name: "ListMcpResourcesTool",
      description:
        "List available resources from configured MCP servers.\nEach returned resource will include all standard MCP resource fields plus a 'server' field indicating which server the resource belongs to.\n\nParameters:\n- server (optional): The name of a specific MCP server to get resources from. If not provided, resources from all servers will be returned.",
      input_schema: schema({ server: str("Optional server name to filter resources by") }, []),
    },
    {
      name: "ReadMcpResourceTool",
      description: "Reads a specific resource from an MCP server, identified by server name and resource URI.",
      input_schema: schema({ server: str("The MCP server name"), uri: str("The resource URI to read") }, [
        "server",
        "uri",
      ]),
    },
    {
      name: "LSP",
      description:
        "Interact with Language Server Protocol (LSP) servers to get code intelligence features.\n\nSupported operations:\n- goToDefinition: Find where a symbol is defined\n- findReferences: Find all references to a symbol\n- hover: Get hover information (documentation, type info) for a symbol\n- documentSymbol: Get all symbols (functions, classes, variables) in a document\n- workspaceSymbol: Search for symbols across the entire workspace\n\nAll operations require filePath, line (1-based) and character (1-based).",
      input_schema: schema(
        {
          operation: {
            type: "string",
            enum: ["goToDefinition", "findReferences", "hover", "documentSymbol", "workspaceSymbol"],
            description: "The LSP operation to perform",
          },
          filePath: str("The absolute or relative path to the file"),
          line: { type: "integer", exclusiveMinimum: 0, description: "The line number (1-based, as shown in editors)" },
          character: {
            type: "integer",
            exclusiveMinimum: 0,
            description: "The character offset (1-based, as shown in editors)",
          },
        },
        ["operation", "filePath", "line", "character"],
      ),
    },
    {
      name: "mcp__ide__getDiagnostics",
      description: "Get language diagnostics from VS Code",
      input_schema: schema(
        { uri: str("Optional file URI to get diagnostics for. If not provided, gets diagnostics for all files.") },
        [],
      ),
    },
    {
      name: "mcp__ide__executeCode",
      description:
        "Execute python code in the Jupyter kernel for the current notebook file.\n\nAll code will be executed in the current Jupyter kernel.\n\nAvoid declaring variables or modifying the state of the kernel unless the user explicitly asks for it.\n\nAny code executed will persist across calls to this tool, unless the kernel has been restarted.",
      input_schema: schema({ code: str("The code to be executed on the kernel.") }, ["code"]),
    },
  ];
}
