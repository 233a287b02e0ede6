import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { JsonObject } from "../../../src/translate/canonical.ts";
import { applyPartialArgs, parseJsonPath } from "../../../src/translate/gemini/partial-args.ts";
import { openApiToJsonSchema, prepareJsonSchema } from "../../../src/translate/gemini/schema.ts";

describe("gemini schemas", () => {
  it("OpenAPI subset → JSON Schema: lower-case types, nullable, int64 strings, example, ordering dropped", () => {
    assert.deepEqual(
      openApiToJsonSchema({
        type: "OBJECT",
        properties: {
          tags: { type: "ARRAY", items: { type: "STRING", enum: ["a", "b"] }, min_items: "1", maxItems: "3" },
          choice: { anyOf: [{ type: "STRING" }, { type: "NUMBER" }], nullable: true },
          any: { type: "TYPE_UNSPECIFIED", example: 5 },
        },
        propertyOrdering: ["tags", "choice", "any"],
      }),
      {
        type: "object",
        properties: {
          tags: { type: "array", items: { type: "string", enum: ["a", "b"] }, minItems: 1, maxItems: 3 },
          choice: { anyOf: [{ type: "string" }, { type: "number" }, { type: "null" }] },
          any: { examples: [5] },
        },
      },
    );
  });

  it("prepareJsonSchema inlines `definitions` and pointers into properties, keeps a property named $schema", () => {
    const input: JsonObject = {
      type: "object",
      properties: {
        $schema: { type: "string" },
        headers: { type: "object" },
        actions: { type: "array", items: { $ref: "#/properties/headers" } },
        point: { $ref: "#/definitions/Point" },
      },
      definitions: { Point: { type: "object", properties: { x: { type: "number" } } } },
    };
    const snapshot = structuredClone(input);
    const { schema, warnings } = prepareJsonSchema(input, { objectRoot: true, where: "t" });
    assert.deepEqual(warnings, []);
    assert.deepEqual(schema, {
      type: "object",
      properties: {
        $schema: { type: "string" },
        headers: { type: "object" },
        actions: { type: "array", items: { type: "object" } },
        point: { type: "object", properties: { x: { type: "number" } } },
      },
    });
    assert.deepEqual(input, snapshot, "the client's schema is not mutated");
  });

  it("prepareJsonSchema leaves a non-object root alone unless asked", () => {
    assert.deepEqual(prepareJsonSchema({ type: "array", items: {} }, { objectRoot: true, where: "t" }).schema, {
      type: "array",
      items: {},
    });
    assert.deepEqual(prepareJsonSchema({}, { objectRoot: false, where: "t" }).schema, {});
    assert.deepEqual(prepareJsonSchema({ anyOf: [{ type: "object" }] }, { objectRoot: true, where: "t" }).schema, {
      anyOf: [{ type: "object" }],
    });
  });
});

describe("Vertex partialArgs", () => {
  it("JSON paths: dotted, indexed and quoted segments; anything else is refused", () => {
    assert.deepEqual(parseJsonPath("$.a.b[2]['c d'][\"e\"]"), ["a", "b", 2, "c d", "e"]);
    assert.deepEqual(parseJsonPath("$"), []);
    assert.equal(parseJsonPath("a.b"), null);
    assert.equal(parseJsonPath("$..a"), null);
  });

  it("rebuilds nested objects and arrays; a string continues only while willContinue is set", () => {
    const state = { args: {} as JsonObject, continuing: null as string | null };
    applyPartialArgs(state, [
      { jsonPath: "$.query.text", stringValue: "new ", willContinue: true },
      { jsonPath: "$.query.text", stringValue: "york" },
      { jsonPath: "$.items[0].qty", numberValue: 2 },
      { jsonPath: "$.items[1].gift", boolValue: true },
      { jsonPath: "$.note", nullValue: "NULL_VALUE" },
    ]);
    applyPartialArgs(state, [{ jsonPath: "$.query.text", stringValue: "!" }]);
    assert.deepEqual(state.args, {
      query: { text: "!" },
      items: [{ qty: 2 }, { gift: true }],
      note: null,
    });
  });
});
