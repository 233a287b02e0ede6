import type { JsonObject, JsonValue } from "../canonical.ts";
import { isJsonObject } from "./json.ts";

/**
 * JSON Schema ⇄ Gemini.
 *
 * Toward Gemini, tool parameters go in `parametersJsonSchema` (and JSON output schemas in
 * `generationConfig.responseJsonSchema`), not in `parameters` / `responseSchema`: those two take Gemini's
 * OpenAPI-3.0 subset (`Schema` proto), which rejects the whole request on the first keyword it has no field for
 * (`$schema`, `additionalProperties`, `exclusiveMinimum`, `const`, `propertyNames`, `uniqueItems`, …), so a
 * down-conversion must chase an ever-growing deny-list and still loses unions and type arrays. The JSON Schema
 * fields are a `google.protobuf.Value`, accepted by the Gemini API and Vertex AI alike (the `@google/genai` SDK
 * itself sends MCP tool schemas there); they still reject `$schema`, and a node with `$ref` may only carry
 * `description`/`default` beside it. So the schema is sent as the client wrote it, with `$schema` removed and local
 * `$ref`s inlined (a recursive one is kept, pointing into the kept `$defs`).
 *
 * From Gemini, `parameters` / `responseSchema` (OpenAPI subset: `type: "STRING"`, `nullable`, `propertyOrdering`)
 * become plain JSON Schema for the other dialects; `parametersJsonSchema` / `responseJsonSchema` pass unchanged.
 */

/** Keywords whose value is a map of name → schema. */
const SCHEMA_MAPS = ["properties", "$defs", "definitions", "patternProperties", "dependentSchemas"];
/** Keywords whose value is one schema (or, for `items`, possibly an array of schemas). */
const SCHEMA_SINGLES = [
  "items",
  "additionalProperties",
  "additionalItems",
  "unevaluatedProperties",
  "unevaluatedItems",
  "contains",
  "propertyNames",
  "not",
  "if",
  "then",
  "else",
];
/** Keywords whose value is an array of schemas. */
const SCHEMA_LISTS = ["anyOf", "oneOf", "allOf", "prefixItems"];

/** Beside a `$ref`, Gemini allows only these. */
const REF_SIBLINGS = ["description", "default"];

interface InlineState {
  root: JsonObject;
  /** A `$ref` was kept (recursive), so `$defs` must stay. */
  keptRef: boolean;
  warnings: string[];
}

/**
 * A client's JSON Schema, ready for `parametersJsonSchema` / `responseJsonSchema`. `objectRoot` adds
 * `type: "object"` to a root without a type (function parameters must describe an object).
 */
export function prepareJsonSchema(
  schema: JsonObject,
  options: { objectRoot: boolean; where: string },
): { schema: JsonObject; warnings: string[] } {
  const state: InlineState = { root: schema, keptRef: false, warnings: [] };
  const out = inlineNode(schema, state, [], options.where);
  const prepared = isJsonObject(out) ? out : {};
  if (!state.keptRef) {
    delete prepared.$defs;
    delete prepared.definitions;
  }
  if (
    options.objectRoot &&
    prepared.type === undefined &&
    prepared.anyOf === undefined &&
    prepared.$ref === undefined
  ) {
    prepared.type = "object";
  }
  return { schema: prepared, warnings: state.warnings };
}

function inlineNode(node: JsonValue, state: InlineState, stack: string[], where: string): JsonValue {
  if (!isJsonObject(node)) return node;
  const ref = node.$ref;
  if (typeof ref === "string") {
    const target = ref.startsWith("#") ? resolvePointer(state.root, ref) : undefined;
    if (stack.includes(ref)) {
      state.keptRef = true;
      const kept: JsonObject = { $ref: ref };
      for (const k of REF_SIBLINGS) if (node[k] !== undefined) kept[k] = node[k];
      return kept;
    }
    if (!isJsonObject(target)) {
      state.warnings.push(`${where}: $ref ${ref} could not be resolved and was dropped`);
      const { $ref: _dropped, ...rest } = node;
      return inlineNode(rest, state, stack, where);
    }
    const { $ref: _inlined, ...siblings } = node;
    return inlineNode({ ...target, ...siblings }, state, [...stack, ref], where);
  }
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "$schema") continue;
    if (SCHEMA_MAPS.includes(key) && isJsonObject(value)) {
      const map: JsonObject = {};
      for (const [name, sub] of Object.entries(value)) map[name] = inlineNode(sub, state, stack, where);
      out[key] = map;
    } else if (SCHEMA_LISTS.includes(key) && Array.isArray(value)) {
      out[key] = value.map((sub) => inlineNode(sub, state, stack, where));
    } else if (SCHEMA_SINGLES.includes(key)) {
      out[key] = Array.isArray(value)
        ? value.map((sub) => inlineNode(sub, state, stack, where))
        : inlineNode(value, state, stack, where);
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** A local JSON pointer (`#/$defs/Item`, `#/properties/a`); `#` alone is the root. */
function resolvePointer(root: JsonObject, ref: string): JsonValue | undefined {
  if (ref === "#") return root;
  if (!ref.startsWith("#/")) return undefined;
  let at: JsonValue | undefined = root;
  for (const raw of ref.slice(2).split("/")) {
    const key = decodeURIComponent(raw).replaceAll("~1", "/").replaceAll("~0", "~");
    if (isJsonObject(at)) at = at[key];
    else if (Array.isArray(at) && /^\d+$/.test(key)) at = at[Number(key)];
    else return undefined;
  }
  return at;
}

/** OpenAPI integer fields that proto3 JSON writes as strings (int64). */
const INT64_FIELDS = ["minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties"];

/** Gemini's OpenAPI-subset `Schema` → JSON Schema. */
export function openApiToJsonSchema(node: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    switch (key) {
      case "type":
        if (typeof value === "string" && value.toUpperCase() !== "TYPE_UNSPECIFIED") out.type = value.toLowerCase();
        break;
      case "nullable":
      case "propertyOrdering":
      case "property_ordering":
        break;
      case "example":
        out.examples = [value];
        break;
      case "properties":
        if (isJsonObject(value)) {
          const props: JsonObject = {};
          for (const [name, sub] of Object.entries(value))
            props[name] = isJsonObject(sub) ? openApiToJsonSchema(sub) : sub;
          out.properties = props;
        }
        break;
      case "items":
        out.items = isJsonObject(value) ? openApiToJsonSchema(value) : value;
        break;
      case "anyOf":
      case "any_of":
        if (Array.isArray(value)) out.anyOf = value.map((sub) => (isJsonObject(sub) ? openApiToJsonSchema(sub) : sub));
        break;
      default: {
        const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
        out[camel] =
          INT64_FIELDS.includes(camel) && typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
      }
    }
  }
  if (node.nullable === true) {
    if (typeof out.type === "string") out.type = [out.type, "null"];
    else if (Array.isArray(out.anyOf)) out.anyOf = [...out.anyOf, { type: "null" }];
  }
  return out;
}
