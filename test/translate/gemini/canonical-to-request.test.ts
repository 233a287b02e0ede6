import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type CanonicalRequest, type JsonObject, TranslationError } from "../../../src/translate/canonical.ts";
import { canonicalToGeminiRequest } from "../../../src/translate/gemini/canonical-to-request.ts";
import { geminiRequestToCanonical } from "../../../src/translate/gemini/request-to-canonical.ts";
import { validateGeminiGenerateContent } from "../../fixtures/mock-upstream/validate/index.ts";
import { canonicalRequest } from "./helpers.ts";

/** Translates and checks the body passes the mock upstream's Gemini validator (what the real API rejects). */
function toGemini(req: CanonicalRequest) {
  const out = canonicalToGeminiRequest(req);
  assert.equal(validateGeminiGenerateContent(out.value, req.model || "gemini-x"), null, JSON.stringify(out.value));
  return out;
}

const ANTHROPIC_SIG = { dialect: "anthropic", kind: "signature", value: "anthropic-sig" } as const;
const GEMINI_SIG = (value: string) => ({ dialect: "gemini", kind: "signature", value }) as const;

describe("canonical → gemini request", () => {
  it("system, turns and sampling; neither model nor stream in the body", () => {
    const { value, warnings } = toGemini(
      canonicalRequest({
        system: [{ type: "text", text: "Be brief." }],
        messages: [
          { role: "user", content: [{ type: "text", text: "Hello" }] },
          { role: "assistant", content: [{ type: "text", text: "Hi" }] },
          { role: "user", content: [{ type: "text", text: "Bye" }] },
        ],
        maxOutputTokens: 50,
        temperature: 0.5,
        topP: 0.8,
        topK: 20,
        stop: ["a", "b"],
        stream: true,
      }),
    );
    assert.deepEqual(warnings, []);
    assert.deepEqual(value, {
      systemInstruction: { parts: [{ text: "Be brief." }] },
      contents: [
        { role: "user", parts: [{ text: "Hello" }] },
        { role: "model", parts: [{ text: "Hi" }] },
        { role: "user", parts: [{ text: "Bye" }] },
      ],
      generationConfig: { maxOutputTokens: 50, temperature: 0.5, topP: 0.8, topK: 20, stopSequences: ["a", "b"] },
    });
  });

  it("tool schemas go in parametersJsonSchema: $schema removed, local $refs inlined, the root typed", () => {
    const { value, warnings } = toGemini(
      canonicalRequest({
        tools: [
          {
            name: "create",
            description: "Create items",
            parameters: {
              $schema: "http://json-schema.org/draft-07/schema#",
              type: "object",
              properties: {
                items: { type: "array", items: { $ref: "#/$defs/Item" } },
                mode: { type: ["string", "null"], const: "fast" },
                count: { type: "integer", exclusiveMinimum: 0 },
              },
              required: ["items"],
              additionalProperties: false,
              $defs: {
                Item: { type: "object", properties: { name: { type: "string" } }, additionalProperties: false },
              },
            },
          },
          { name: "ping", description: null, parameters: {} },
        ],
        toolChoice: { type: "tool", name: "create" },
      }),
    );
    assert.deepEqual(warnings, []);
    assert.deepEqual(value.tools, [
      {
        functionDeclarations: [
          {
            name: "create",
            description: "Create items",
            parametersJsonSchema: {
              type: "object",
              properties: {
                items: {
                  type: "array",
                  items: { type: "object", properties: { name: { type: "string" } }, additionalProperties: false },
                },
                mode: { type: ["string", "null"], const: "fast" },
                count: { type: "integer", exclusiveMinimum: 0 },
              },
              required: ["items"],
              additionalProperties: false,
            },
          },
          { name: "ping", parametersJsonSchema: { type: "object" } },
        ],
      },
    ]);
    assert.deepEqual(value.toolConfig, { functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["create"] } });
  });

  it("a recursive $ref stays (with its $defs, only description beside it); an unknown one is dropped with a warning", () => {
    const { value, warnings } = toGemini(
      canonicalRequest({
        tools: [
          {
            name: "tree",
            description: null,
            parameters: {
              type: "object",
              properties: {
                root: { $ref: "#/$defs/Node", description: "the root", title: "Root" },
                other: { $ref: "https://example.com/schema.json", type: "string" },
              },
              $defs: {
                Node: { type: "object", properties: { children: { type: "array", items: { $ref: "#/$defs/Node" } } } },
              },
            },
          },
        ],
      }),
    );
    const decl = (value.tools as { functionDeclarations: JsonObject[] }[])[0]?.functionDeclarations[0];
    assert.deepEqual(decl?.parametersJsonSchema, {
      type: "object",
      properties: {
        root: {
          type: "object",
          properties: { children: { type: "array", items: { $ref: "#/$defs/Node" } } },
          description: "the root",
          title: "Root",
        },
        other: { type: "string" },
      },
      $defs: {
        Node: {
          type: "object",
          properties: {
            children: {
              type: "array",
              items: { type: "object", properties: { children: { type: "array", items: { $ref: "#/$defs/Node" } } } },
            },
          },
        },
      },
    });
    assert.deepEqual(warnings, [
      "tool tree: $ref https://example.com/schema.json could not be resolved and was dropped",
    ]);
  });

  it("tool choice: auto, none, required", () => {
    const config = (toolChoice: CanonicalRequest["toolChoice"]) =>
      toGemini(canonicalRequest({ toolChoice })).value.toolConfig;
    assert.deepEqual(config({ type: "auto" }), { functionCallingConfig: { mode: "AUTO" } });
    assert.deepEqual(config({ type: "none" }), { functionCallingConfig: { mode: "NONE" } });
    assert.deepEqual(config({ type: "required" }), { functionCallingConfig: { mode: "ANY" } });
    assert.equal(config(null), undefined);
  });

  it("tool results: name from the matching call, {output} or {error}, images after the functionResponse", () => {
    const { value, warnings } = toGemini(
      canonicalRequest({
        messages: [
          { role: "user", content: [{ type: "text", text: "go" }] },
          {
            role: "assistant",
            content: [
              { type: "tool-call", id: "toolu_1", name: "read", arguments: '{"path":"a"}' },
              { type: "tool-call", id: "toolu_2", name: "shot", arguments: "" },
            ],
          },
          {
            role: "user",
            content: [
              {
                type: "tool-result",
                callId: "toolu_1",
                name: null,
                content: [{ type: "text", text: "no such file" }],
                isError: true,
              },
              {
                type: "tool-result",
                callId: "toolu_2",
                name: null,
                content: [
                  { type: "text", text: "here" },
                  { type: "image", source: { kind: "base64", mediaType: "image/png", data: "iVBOR" } },
                ],
                isError: false,
              },
              { type: "text", text: "continue" },
            ],
          },
        ],
      }),
    );
    const contents = value.contents as JsonObject[];
    assert.deepEqual(contents[1], {
      role: "model",
      parts: [
        { functionCall: { id: "toolu_1", name: "read", args: { path: "a" } } },
        { functionCall: { id: "toolu_2", name: "shot", args: {} } },
      ],
    });
    assert.deepEqual(contents[2], {
      role: "user",
      parts: [
        { functionResponse: { id: "toolu_1", name: "read", response: { error: "no such file" } } },
        { functionResponse: { id: "toolu_2", name: "shot", response: { output: "here" } } },
        { inlineData: { mimeType: "image/png", data: "iVBOR" } },
        { text: "continue" },
      ],
    });
    assert.deepEqual(warnings, ["tool result toolu_2: images sent as parts after the functionResponse"]);
  });

  it("a tool result whose call is unknown and unnamed cannot be translated", () => {
    assert.throws(
      () =>
        canonicalToGeminiRequest(
          canonicalRequest({
            messages: [
              {
                role: "user",
                content: [{ type: "tool-result", callId: "x", name: null, content: [], isError: false }],
              },
            ],
          }),
        ),
      TranslationError,
    );
  });

  it("reasoning: Gemini signatures ride on the next part; other providers' reasoning is dropped with one warning", () => {
    const { value, warnings } = toGemini(
      canonicalRequest({
        messages: [
          { role: "user", content: [{ type: "text", text: "q" }] },
          {
            role: "assistant",
            content: [
              { type: "reasoning", text: "anthropic thinking", opaque: ANTHROPIC_SIG },
              { type: "reasoning", text: "", opaque: { dialect: "anthropic", kind: "redacted", value: "r" } },
            ],
          },
          { role: "user", content: [{ type: "text", text: "again" }] },
          {
            role: "assistant",
            content: [
              { type: "reasoning", text: "summary", opaque: null },
              { type: "reasoning", text: "", opaque: GEMINI_SIG("G1") },
              { type: "tool-call", id: "call_0", name: "f", arguments: "{}" },
              { type: "text", text: "done" },
              { type: "reasoning", text: "", opaque: GEMINI_SIG("G2") },
            ],
          },
        ],
      }),
    );
    const contents = value.contents as JsonObject[];
    assert.equal(contents.length, 3, "the assistant turn holding only foreign reasoning is left out");
    assert.deepEqual(contents[2], {
      role: "model",
      parts: [
        { functionCall: { id: "call_0", name: "f", args: {} }, thoughtSignature: "G1" },
        { text: "done" },
        { text: "", thoughtSignature: "G2" },
      ],
    });
    assert.ok(!JSON.stringify(value).includes("anthropic"));
    assert.deepEqual(warnings, ["3 reasoning part(s) dropped: Gemini accepts only its own thought signatures"]);
  });

  it("a conversation left with nothing Gemini can take is refused, not sent empty", () => {
    assert.throws(
      () =>
        canonicalToGeminiRequest(
          canonicalRequest({
            messages: [{ role: "assistant", content: [{ type: "reasoning", text: "x", opaque: ANTHROPIC_SIG }] }],
          }),
        ),
      TranslationError,
    );
  });

  it("Gemini 3: replayed calls without a signature get skip_thought_signature_validator (not after a signed call)", () => {
    const messages: CanonicalRequest["messages"] = [
      { role: "user", content: [{ type: "text", text: "q" }] },
      {
        role: "assistant",
        content: [
          { type: "tool-call", id: "a", name: "f", arguments: "{}" },
          { type: "tool-call", id: "b", name: "f", arguments: "{}" },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool-result", callId: "a", name: "f", content: [], isError: false },
          { type: "tool-result", callId: "b", name: "f", content: [], isError: false },
        ],
      },
      {
        role: "assistant",
        content: [
          { type: "reasoning", text: "", opaque: GEMINI_SIG("REAL") },
          { type: "tool-call", id: "c", name: "f", arguments: "{}" },
          { type: "tool-call", id: "d", name: "f", arguments: "{}" },
        ],
      },
    ];
    const signatures = (model: string) => {
      const { value, warnings } = toGemini(canonicalRequest({ model, messages }));
      const models = (value.contents as JsonObject[]).filter((c) => c.role === "model");
      return { sigs: models.map((c) => (c.parts as JsonObject[]).map((p) => p.thoughtSignature ?? null)), warnings };
    };
    const g3 = signatures("gemini-3-pro-preview");
    assert.deepEqual(g3.sigs, [
      ["skip_thought_signature_validator", "skip_thought_signature_validator"],
      ["REAL", null],
    ]);
    assert.equal(g3.warnings.length, 1);
    assert.deepEqual(signatures("gemini-2.5-flash").sigs, [
      [null, null],
      ["REAL", null],
    ]);
  });

  it("thinking: a budget as thinkingBudget; an effort as thinkingLevel on Gemini 3, as a budget before", () => {
    const thinking = (model: string, reasoning: CanonicalRequest["reasoning"]) =>
      (toGemini(canonicalRequest({ model, reasoning })).value.generationConfig as JsonObject).thinkingConfig;
    assert.deepEqual(thinking("gemini-2.5-pro", { budgetTokens: 4096, effort: null }), {
      includeThoughts: true,
      thinkingBudget: 4096,
    });
    assert.deepEqual(thinking("gemini-3-pro-preview", { budgetTokens: null, effort: "high" }), {
      includeThoughts: true,
      thinkingLevel: "HIGH",
    });
    assert.deepEqual(thinking("gemini-2.5-flash", { budgetTokens: null, effort: "low" }), {
      includeThoughts: true,
      thinkingBudget: 1024,
    });
  });

  it("JSON output: responseMimeType, and the schema in responseJsonSchema", () => {
    const config = (responseFormat: CanonicalRequest["responseFormat"]) =>
      toGemini(canonicalRequest({ responseFormat })).value.generationConfig;
    assert.deepEqual(config({ type: "json" }), { responseMimeType: "application/json" });
    assert.deepEqual(
      config({
        type: "json-schema",
        name: "answer",
        strict: true,
        schema: { $schema: "x", type: "object", properties: { a: { type: "string" } }, additionalProperties: false },
      }),
      {
        responseMimeType: "application/json",
        responseJsonSchema: { type: "object", properties: { a: { type: "string" } }, additionalProperties: false },
      },
    );
  });

  it("warns for what Gemini cannot do: more than 5 stop sequences, no parallel calls, user, bad arguments", () => {
    const { value, warnings } = toGemini(
      canonicalRequest({
        stop: ["1", "2", "3", "4", "5", "6"],
        parallelToolCalls: false,
        user: "u-1",
        messages: [
          { role: "user", content: [{ type: "text", text: "q" }] },
          { role: "assistant", content: [{ type: "tool-call", id: "x", name: "f", arguments: '{"a":' }] },
        ],
      }),
    );
    assert.deepEqual((value.generationConfig as JsonObject).stopSequences, ["1", "2", "3", "4", "5"]);
    assert.equal(warnings.length, 4);
    assert.match(warnings.join("\n"), /stop sequences/);
    assert.match(warnings.join("\n"), /parallel/);
    assert.match(warnings.join("\n"), /user/);
    assert.match(warnings.join("\n"), /arguments are not a JSON object/);
  });

  it("images by URL: a data: URL inline, others as fileData with a MIME type from the extension", () => {
    const { value } = toGemini(
      canonicalRequest({
        messages: [
          {
            role: "user",
            content: [
              { type: "image", source: { kind: "url", url: "data:image/webp;base64,UklGR" } },
              { type: "image", source: { kind: "url", url: "https://example.com/cat.PNG?size=2" } },
              { type: "text", text: "what are these?" },
            ],
          },
        ],
      }),
    );
    assert.deepEqual((value.contents as JsonObject[])[0]?.parts, [
      { inlineData: { mimeType: "image/webp", data: "UklGR" } },
      { fileData: { mimeType: "image/png", fileUri: "https://example.com/cat.PNG?size=2" } },
      { text: "what are these?" },
    ]);
  });
});

describe("gemini request round trip (client body → canonical → body)", () => {
  it("a normalized body comes back unchanged", () => {
    const body = {
      systemInstruction: { parts: [{ text: "You are terse." }] },
      contents: [
        {
          role: "user",
          parts: [{ text: "Weather in Paris?" }, { inlineData: { mimeType: "image/png", data: "AAA" } }],
        },
        {
          role: "model",
          parts: [
            { text: "thinking", thought: true, thoughtSignature: "T1" },
            { functionCall: { id: "c1", name: "get_weather", args: { city: "Paris" } }, thoughtSignature: "S1" },
          ],
        },
        {
          role: "user",
          parts: [{ functionResponse: { id: "c1", name: "get_weather", response: { output: "sunny" } } }],
        },
        { role: "model", parts: [{ text: "Sunny." }, { text: "", thoughtSignature: "S2" }] },
        { role: "user", parts: [{ text: "Thanks" }] },
      ],
      tools: [
        {
          functionDeclarations: [
            {
              name: "get_weather",
              description: "Weather",
              parametersJsonSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
            },
          ],
        },
      ],
      toolConfig: { functionCallingConfig: { mode: "AUTO" } },
      generationConfig: {
        maxOutputTokens: 256,
        temperature: 0.1,
        stopSequences: ["STOP"],
        responseMimeType: "application/json",
        thinkingConfig: { includeThoughts: true, thinkingBudget: 1024 },
      },
    };
    const canonical = geminiRequestToCanonical(body);
    assert.deepEqual(canonical.warnings, []);
    const back = toGemini({ ...canonical.value, model: "gemini-2.5-flash" });
    assert.deepEqual(back.warnings, []);
    assert.deepEqual(back.value, body);
  });

  it("a body without ids and with OpenAPI schemas keeps its meaning: calls and responses paired by generated ids", () => {
    const body = {
      contents: [
        { role: "user", parts: [{ text: "go" }] },
        {
          role: "model",
          parts: [{ functionCall: { name: "f", args: { n: 1 } } }, { functionCall: { name: "g", args: {} } }],
        },
        {
          role: "user",
          parts: [
            { functionResponse: { name: "g", response: { result: "G" } } },
            { functionResponse: { name: "f", response: { result: "F" } } },
          ],
        },
      ],
      tools: [
        {
          functionDeclarations: [{ name: "f", parameters: { type: "OBJECT", properties: { n: { type: "NUMBER" } } } }],
        },
      ],
    };
    const back = toGemini({ ...geminiRequestToCanonical(body).value, model: "gemini-2.5-flash" }).value;
    const contents = back.contents as JsonObject[];
    assert.deepEqual(contents[1]?.parts, [
      { functionCall: { id: "call_0", name: "f", args: { n: 1 } } },
      { functionCall: { id: "call_1", name: "g", args: {} } },
    ]);
    assert.deepEqual(contents[2]?.parts, [
      { functionResponse: { id: "call_1", name: "g", response: { output: "G" } } },
      { functionResponse: { id: "call_0", name: "f", response: { output: "F" } } },
    ]);
    assert.deepEqual(back.tools, [
      {
        functionDeclarations: [
          { name: "f", parametersJsonSchema: { type: "object", properties: { n: { type: "number" } } } },
        ],
      },
    ]);
  });
});
