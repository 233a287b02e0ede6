import { isObject, stringAt, type JsonObject as WireObject } from "../../dialects/shared/narrow.ts";
import { type CanonicalTool, type JsonObject, TranslationError } from "../canonical.ts";
import { addWarning, isJsonObject, isJsonValue, parseJson } from "./json.ts";

/**
 * Responses tools the canonical form has no shape for, and how they travel as plain function tools:
 * - `namespace` tools (Codex's MCP servers): each inner tool becomes a function named by Codex's own flat form
 *   (`flatToolName`, `ToolName::canonical_flat_name` in codex-rs): `mcp__calendar__` + `create_event` →
 *   `mcp__calendar__create_event`;
 * - `custom` (free-form) tools, e.g. Codex's `apply_patch`: a function with one string argument `input`;
 * - `local_shell` (codex-mini): a function `local_shell` whose arguments are the exec action's fields.
 * The reverse trip (the model calls the flat name → the client gets its own item shape back) needs the client's
 * tool list: `ClientTool` entries keyed by the flat name, built from the request (`responsesOutputOptions`).
 */
export type ClientTool =
  | { kind: "function"; name: string; namespace: string | null }
  | { kind: "custom"; name: string; namespace: string | null }
  | { kind: "local-shell" };

export const LOCAL_SHELL_TOOL = "local_shell";

/** Codex's flat form of a namespaced name: stray underscores around the `__` delimiter are trimmed. */
export function flatToolName(namespace: string | null | undefined, name: string): string {
  if (namespace === null || namespace === undefined || namespace === "") return name;
  return `${namespace.replace(/_+$/, "")}__${name.replace(/^_+/, "")}`;
}

export interface ClientTools {
  tools: CanonicalTool[];
  /** The flat names whose client shape is not a plain function tool. */
  names: Map<string, ClientTool>;
}

const EMPTY_PARAMETERS: JsonObject = { type: "object", properties: {} };

const LOCAL_SHELL_PARAMETERS: JsonObject = {
  type: "object",
  properties: {
    command: {
      type: "array",
      items: { type: "string" },
      description: 'The program and its arguments, e.g. ["bash", "-lc", "ls -la"].',
    },
    working_directory: { type: "string", description: "The directory to run the command in." },
    timeout_ms: { type: "integer", description: "Kill the command after this many milliseconds." },
  },
  required: ["command"],
};

const LOCAL_SHELL_DESCRIPTION = "Runs a command on the user's machine and returns its output.";

/** Hosted tools run by OpenAI itself: nothing another provider can run. */
const HOSTED_TOOL_TYPES = new Set([
  "web_search",
  "web_search_preview",
  "web_search_2025_08_26",
  "web_search_preview_2025_03_11",
  "file_search",
  "computer_use_preview",
  "computer",
  "code_interpreter",
  "image_generation",
  "mcp",
  "tool_search",
  "shell",
  "apply_patch",
]);

/** The client's `tools` → canonical tools (throws TranslationError on malformed tools or a name collision). */
export function prepareClientTools(raw: unknown, warnings: string[]): ClientTools {
  const result: ClientTools = { tools: [], names: new Map() };
  if (raw === undefined || raw === null) return result;
  if (!Array.isArray(raw)) throw new TranslationError("tools must be an array");
  const add = (tool: CanonicalTool, client: ClientTool | null): void => {
    if (result.tools.some((t) => t.name === tool.name)) {
      throw new TranslationError(`two tools are both named "${tool.name}" once namespaces are flattened`);
    }
    result.tools.push(tool);
    if (client !== null) result.names.set(tool.name, client);
  };
  for (const tool of raw) {
    if (!isObject(tool)) throw new TranslationError("each tool must be an object");
    const type = stringAt(tool, "type");
    switch (type) {
      case "function":
        add(functionTool(tool, null, warnings), null);
        break;
      case "custom":
        addWarning(warnings, customWarning);
        add(customTool(tool, null), { kind: "custom", name: requiredName(tool), namespace: null });
        break;
      case "namespace": {
        const namespace = requiredName(tool);
        addWarning(warnings, `namespace tools are flattened to "<namespace>__<name>" function tools`);
        const inner = tool.tools;
        if (!Array.isArray(inner)) throw new TranslationError(`namespace tool "${namespace}" has no tools array`);
        for (const child of inner) {
          if (!isObject(child)) throw new TranslationError(`namespace tool "${namespace}" has a malformed tool`);
          const childType = stringAt(child, "type");
          const name = requiredName(child);
          if (childType === "function") {
            add(functionTool(child, namespace, warnings), { kind: "function", name, namespace });
          } else if (childType === "custom") {
            addWarning(warnings, customWarning);
            add(customTool(child, namespace), { kind: "custom", name, namespace });
          } else {
            addWarning(warnings, `tool type "${String(childType)}" inside a namespace is not supported; dropped`);
          }
        }
        break;
      }
      case "local_shell":
        addWarning(warnings, `the local_shell tool is sent as a function tool named "${LOCAL_SHELL_TOOL}"`);
        add(
          { name: LOCAL_SHELL_TOOL, description: LOCAL_SHELL_DESCRIPTION, parameters: LOCAL_SHELL_PARAMETERS },
          { kind: "local-shell" },
        );
        break;
      default:
        if (type !== undefined && HOSTED_TOOL_TYPES.has(type)) {
          addWarning(warnings, `the hosted tool "${type}" runs only on OpenAI; dropped`);
        } else {
          addWarning(warnings, `tool type "${String(type)}" is not supported in translation; dropped`);
        }
    }
  }
  return result;
}

const customWarning = 'custom (free-form) tools are sent as function tools with one string argument "input"';

function requiredName(tool: WireObject): string {
  const name = stringAt(tool, "name");
  if (name === undefined || name === "") throw new TranslationError("a tool has no name");
  return name;
}

function functionTool(tool: WireObject, namespace: string | null, warnings: string[]): CanonicalTool {
  const parameters = tool.parameters;
  if (parameters !== undefined && parameters !== null && !isJsonObject(parameters)) {
    throw new TranslationError(`the parameters of tool "${requiredName(tool)}" are not a JSON object`);
  }
  if (tool.strict === true) addWarning(warnings, "strict function schemas are not enforced after translation");
  return {
    name: flatToolName(namespace, requiredName(tool)),
    description: stringAt(tool, "description") ?? null,
    parameters: isJsonObject(parameters) ? parameters : EMPTY_PARAMETERS,
  };
}

function customTool(tool: WireObject, namespace: string | null): CanonicalTool {
  const format = isObject(tool.format) ? tool.format : undefined;
  let inputDescription = "The raw input for this tool.";
  const definition = stringAt(format, "definition");
  if (stringAt(format, "type") === "grammar" && definition !== undefined) {
    // The grammar cannot be enforced elsewhere; telling the model is the next best thing.
    inputDescription += ` It must match this ${stringAt(format, "syntax") ?? ""} grammar:\n${definition}`;
  }
  return {
    name: flatToolName(namespace, requiredName(tool)),
    description: stringAt(tool, "description") ?? null,
    parameters: {
      type: "object",
      properties: { input: { type: "string", description: inputDescription } },
      required: ["input"],
      additionalProperties: false,
    },
  };
}

/** How the client knows a tool the model called by its flat canonical name (plain function when unknown). */
export function clientToolFor(flatName: string, names: ReadonlyMap<string, ClientTool> | undefined): ClientTool {
  return names?.get(flatName) ?? { kind: "function", name: flatName, namespace: null };
}

/** A custom tool's input from the canonical arguments `{"input": "…"}` (raw text when not in that shape). */
export function customInputFromArguments(args: string): string {
  const parsed = parseJson(args);
  return isObject(parsed) && typeof parsed.input === "string" ? parsed.input : args;
}

export function argumentsFromCustomInput(input: string): string {
  return JSON.stringify({ input });
}

/** A local_shell_call `action` from the canonical arguments of a `local_shell` function call. */
export function localShellActionFromArguments(args: string): JsonObject {
  const parsed = parseJson(args);
  const fields = isObject(parsed) ? parsed : {};
  const raw = fields.command;
  let command: string[] = [];
  if (Array.isArray(raw)) command = raw.filter((part): part is string => typeof part === "string");
  else if (typeof raw === "string") command = ["bash", "-lc", raw];
  const action: JsonObject = { type: "exec", command, env: {} };
  if (isObject(fields.env)) {
    const env: JsonObject = {};
    for (const [key, value] of Object.entries(fields.env)) if (typeof value === "string") env[key] = value;
    action.env = env;
  }
  const workdir = stringAt(fields, "working_directory") ?? stringAt(fields, "workdir");
  if (workdir !== undefined) action.working_directory = workdir;
  const timeout = fields.timeout_ms;
  if (typeof timeout === "number" && Number.isFinite(timeout)) action.timeout_ms = timeout;
  const user = stringAt(fields, "user");
  if (user !== undefined) action.user = user;
  return action;
}

/** The canonical arguments of a `local_shell` function call from a client's local_shell_call `action`. */
export function argumentsFromLocalShellAction(action: unknown): string {
  const fields = isObject(action) ? action : {};
  const args: JsonObject = {};
  for (const key of ["command", "working_directory", "timeout_ms", "env", "user"]) {
    const value = fields[key];
    if (value !== null && isJsonValue(value)) args[key] = value;
  }
  return JSON.stringify(args);
}
