import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TranslationError } from "../../../src/translate/canonical.ts";
import { geminiRequestToCanonical } from "../../../src/translate/gemini/request-to-canonical.ts";

const WEATHER_DECL = {
  name: "get_weather",
  description: "Weather for a city",
  parameters: {
    type: "OBJECT",
    properties: { city: { type: "STRING", description: "City" }, days: { type: "INTEGER", nullable: true } },
    required: ["city"],
    propertyOrdering: ["city", "days"],
  },
};

describe("gemini request → canonical", () => {
  it("system, turns, sampling, stop; model and stream are left to the caller (they are in the URL)", () => {
    const { value, warnings } = geminiRequestToCanonical({
      systemInstruction: { parts: [{ text: "Be brief." }, { text: "Be kind." }] },
      contents: [
        { role: "user", parts: [{ text: "Hello" }] },
        { role: "model", parts: [{ text: "Hi!" }] },
        { parts: [{ text: "Weather?" }] },
      ],
      generationConfig: { maxOutputTokens: 100, temperature: 0.2, topP: 0.9, topK: 40, stopSequences: ["END"] },
    });
    assert.deepEqual(warnings, []);
    assert.equal(value.model, "");
    assert.equal(value.stream, false);
    assert.deepEqual(value.system, [
      { type: "text", text: "Be brief." },
      { type: "text", text: "Be kind." },
    ]);
    assert.deepEqual(value.messages, [
      { role: "user", content: [{ type: "text", text: "Hello" }] },
      { role: "assistant", content: [{ type: "text", text: "Hi!" }] },
      { role: "user", content: [{ type: "text", text: "Weather?" }] },
    ]);
    assert.equal(value.maxOutputTokens, 100);
    assert.equal(value.temperature, 0.2);
    assert.equal(value.topP, 0.9);
    assert.equal(value.topK, 40);
    assert.deepEqual(value.stop, ["END"]);
  });

  it("reads snake_case fields as Google's curl examples write them", () => {
    const { value } = geminiRequestToCanonical({
      system_instruction: { parts: [{ text: "S" }] },
      contents: [{ role: "user", parts: [{ inline_data: { mime_type: "image/png", data: "AAAA" } }] }],
      generation_config: { max_output_tokens: 7, stop_sequences: ["x"] },
      tool_config: { function_calling_config: { mode: "ANY", allowed_function_names: ["get_weather"] } },
      tools: [{ function_declarations: [WEATHER_DECL] }],
    });
    assert.deepEqual(value.system, [{ type: "text", text: "S" }]);
    assert.deepEqual(value.messages[0]?.content, [
      { type: "image", source: { kind: "base64", mediaType: "image/png", data: "AAAA" } },
    ]);
    assert.equal(value.maxOutputTokens, 7);
    assert.deepEqual(value.toolChoice, { type: "tool", name: "get_weather" });
    assert.equal(value.tools[0]?.name, "get_weather");
  });

  it("tools: OpenAPI `parameters` become JSON Schema, parametersJsonSchema passes unchanged, Google tools dropped", () => {
    const jsonSchema = {
      type: "object",
      properties: { q: { type: "string" } },
      additionalProperties: false,
      $defs: { x: { type: "number" } },
    };
    const { value, warnings } = geminiRequestToCanonical({
      contents: [{ role: "user", parts: [{ text: "x" }] }],
      tools: [
        {
          functionDeclarations: [
            WEATHER_DECL,
            { name: "search", parametersJsonSchema: jsonSchema },
            { name: "noargs" },
          ],
        },
        { googleSearch: {} },
        { codeExecution: {} },
      ],
    });
    assert.deepEqual(value.tools, [
      {
        name: "get_weather",
        description: "Weather for a city",
        parameters: {
          type: "object",
          properties: { city: { type: "string", description: "City" }, days: { type: ["integer", "null"] } },
          required: ["city"],
        },
      },
      { name: "search", description: null, parameters: jsonSchema },
      { name: "noargs", description: null, parameters: { type: "object", properties: {} } },
    ]);
    assert.deepEqual(warnings, [
      "the googleSearch tool runs only on Gemini and was dropped",
      "the codeExecution tool runs only on Gemini and was dropped",
    ]);
  });

  it("functionCallingConfig: AUTO, NONE, ANY, ANY with one name, ANY with several (warning)", () => {
    const choice = (config: Record<string, unknown>) =>
      geminiRequestToCanonical({
        contents: [{ parts: [{ text: "x" }] }],
        toolConfig: { functionCallingConfig: config },
      });
    assert.deepEqual(choice({ mode: "AUTO" }).value.toolChoice, { type: "auto" });
    assert.deepEqual(choice({ mode: "NONE" }).value.toolChoice, { type: "none" });
    assert.deepEqual(choice({ mode: "ANY" }).value.toolChoice, { type: "required" });
    assert.deepEqual(choice({ mode: "ANY", allowedFunctionNames: ["a"] }).value.toolChoice, {
      type: "tool",
      name: "a",
    });
    const several = choice({ mode: "ANY", allowedFunctionNames: ["a", "b"] });
    assert.deepEqual(several.value.toolChoice, { type: "required" });
    assert.equal(several.warnings.length, 1);
    assert.throws(() => choice({ mode: "SOMETIMES" }), TranslationError);
  });

  it("function calls without ids get call_<n>; responses without ids find their call by name and order", () => {
    const { value, warnings } = geminiRequestToCanonical({
      contents: [
        { role: "user", parts: [{ text: "Weather in Paris and Rome, then the time?" }] },
        {
          role: "model",
          parts: [
            { functionCall: { name: "get_weather", args: { city: "Paris" } }, thoughtSignature: "SIG" },
            { functionCall: { name: "get_weather", args: { city: "Rome" } } },
            { functionCall: { name: "get_time", args: {} } },
          ],
        },
        {
          role: "user",
          parts: [
            { functionResponse: { name: "get_time", response: { output: "noon" } } },
            { functionResponse: { name: "get_weather", response: { output: "sunny" } } },
            { functionResponse: { name: "get_weather", response: { output: "rain" } } },
          ],
        },
      ],
    });
    assert.deepEqual(warnings, []);
    assert.deepEqual(value.messages[1]?.content, [
      { type: "reasoning", text: "", opaque: { dialect: "gemini", kind: "signature", value: "SIG" } },
      { type: "tool-call", id: "call_0", name: "get_weather", arguments: '{"city":"Paris"}' },
      { type: "tool-call", id: "call_1", name: "get_weather", arguments: '{"city":"Rome"}' },
      { type: "tool-call", id: "call_2", name: "get_time", arguments: "{}" },
    ]);
    assert.deepEqual(
      value.messages[2]?.content.map((p) => (p.type === "tool-result" ? [p.callId, p.name, p.content] : p.type)),
      [
        ["call_2", "get_time", [{ type: "text", text: "noon" }]],
        ["call_0", "get_weather", [{ type: "text", text: "sunny" }]],
        ["call_1", "get_weather", [{ type: "text", text: "rain" }]],
      ],
    );
  });

  it("ids the client sent are kept, and generated ids never collide with them", () => {
    const { value } = geminiRequestToCanonical({
      contents: [
        { role: "user", parts: [{ text: "go" }] },
        {
          role: "model",
          parts: [{ functionCall: { name: "a", args: {} } }, { functionCall: { id: "call_0", name: "b", args: {} } }],
        },
        {
          role: "user",
          parts: [
            { functionResponse: { id: "call_0", name: "b", response: { output: "B" } } },
            { functionResponse: { name: "a", response: { output: "A" } } },
          ],
        },
      ],
    });
    const ids = value.messages[1]?.content.map((p) => (p.type === "tool-call" ? p.id : null));
    assert.deepEqual(ids, ["call_1", "call_0"]);
    assert.deepEqual(
      value.messages[2]?.content.map((p) => (p.type === "tool-result" ? p.callId : null)),
      ["call_0", "call_1"],
    );
  });

  it("function responses: output/result text, errors, structured JSON, an orphan with a warning", () => {
    const { value, warnings } = geminiRequestToCanonical({
      contents: [
        {
          role: "model",
          parts: [{ functionCall: { name: "f", args: {} } }, { functionCall: { name: "f", args: {} } }],
        },
        {
          role: "user",
          parts: [
            { functionResponse: { name: "f", response: { error: "boom" } } },
            { functionResponse: { name: "f", response: { temperature: 21, unit: "C" } } },
            { functionResponse: { name: "g", response: { name: "g", content: "late" } } },
          ],
        },
      ],
    });
    const results = value.messages[1]?.content ?? [];
    assert.deepEqual(results[0], {
      type: "tool-result",
      callId: "call_0",
      name: "f",
      content: [{ type: "text", text: "boom" }],
      isError: true,
    });
    assert.deepEqual(results[1], {
      type: "tool-result",
      callId: "call_1",
      name: "f",
      content: [{ type: "text", text: '{"temperature":21,"unit":"C"}' }],
      isError: false,
    });
    assert.deepEqual(results[2], {
      type: "tool-result",
      callId: "call_2",
      name: "g",
      content: [{ type: "text", text: "late" }],
      isError: false,
    });
    assert.deepEqual(warnings, ["functionResponse g answers no earlier functionCall; given id call_2"]);
  });

  it("thoughts: a thought summary is reasoning, its signature kept with it", () => {
    const { value } = geminiRequestToCanonical({
      contents: [
        { role: "user", parts: [{ text: "q" }] },
        {
          role: "model",
          parts: [
            { text: "pondering", thought: true, thoughtSignature: "T" },
            { text: "answer", thoughtSignature: "U" },
          ],
        },
      ],
    });
    assert.deepEqual(value.messages[1]?.content, [
      { type: "reasoning", text: "pondering", opaque: { dialect: "gemini", kind: "signature", value: "T" } },
      { type: "reasoning", text: "", opaque: { dialect: "gemini", kind: "signature", value: "U" } },
      { type: "text", text: "answer" },
    ]);
  });

  it("images: inline and by URI; other media cannot be translated", () => {
    const { value } = geminiRequestToCanonical({
      contents: [
        {
          role: "user",
          parts: [
            { inlineData: { mimeType: "image/jpeg", data: "/9j/" } },
            { fileData: { mimeType: "image/png", fileUri: "https://example.com/a.png" } },
          ],
        },
      ],
    });
    assert.deepEqual(value.messages[0]?.content, [
      { type: "image", source: { kind: "base64", mediaType: "image/jpeg", data: "/9j/" } },
      { type: "image", source: { kind: "url", url: "https://example.com/a.png" } },
    ]);
    assert.throws(
      () =>
        geminiRequestToCanonical({
          contents: [{ role: "user", parts: [{ inlineData: { mimeType: "application/pdf", data: "JVBER" } }] }],
        }),
      (err: unknown) => err instanceof TranslationError && /application\/pdf/.test(err.message),
    );
  });

  it("generationConfig: thinking, JSON output (both schema spellings), dropped fields warned", () => {
    const read = (generationConfig: Record<string, unknown>) =>
      geminiRequestToCanonical({ contents: [{ parts: [{ text: "x" }] }], generationConfig });
    assert.deepEqual(read({ thinkingConfig: { thinkingBudget: 2048, includeThoughts: true } }).value.reasoning, {
      budgetTokens: 2048,
      effort: null,
    });
    assert.deepEqual(read({ thinkingConfig: { thinkingLevel: "HIGH" } }).value.reasoning, {
      budgetTokens: null,
      effort: "high",
    });
    assert.deepEqual(read({ thinkingConfig: { thinkingBudget: -1 } }).value.reasoning, {
      budgetTokens: null,
      effort: null,
    });
    assert.equal(read({ thinkingConfig: { thinkingBudget: 0 } }).value.reasoning, null);

    assert.deepEqual(read({ responseMimeType: "application/json" }).value.responseFormat, { type: "json" });
    assert.deepEqual(
      read({ responseMimeType: "application/json", responseSchema: { type: "ARRAY", items: { type: "STRING" } } }).value
        .responseFormat,
      { type: "json-schema", name: "response", schema: { type: "array", items: { type: "string" } }, strict: false },
    );
    const schema = { type: "object", properties: { a: { const: 1 } } };
    assert.deepEqual(read({ responseMimeType: "application/json", responseJsonSchema: schema }).value.responseFormat, {
      type: "json-schema",
      name: "response",
      schema,
      strict: false,
    });

    const dropped = read({ seed: 3, presencePenalty: 1 });
    assert.deepEqual(dropped.warnings, [
      "generationConfig.seed is not supported across providers and was dropped",
      "generationConfig.presencePenalty is not supported across providers and was dropped",
    ]);
  });

  it("refuses what cannot be translated: candidateCount > 1, cachedContent, no contents, a bad role", () => {
    const bad: unknown[] = [
      { contents: [{ parts: [{ text: "x" }] }], generationConfig: { candidateCount: 2 } },
      { contents: [{ parts: [{ text: "x" }] }], cachedContent: "cachedContents/abc" },
      { contents: [] },
      { contents: [{ role: "system", parts: [{ text: "x" }] }] },
      "not an object",
    ];
    for (const body of bad) assert.throws(() => geminiRequestToCanonical(body), TranslationError, JSON.stringify(body));
    const one = geminiRequestToCanonical({
      contents: [{ parts: [{ text: "x" }] }],
      generationConfig: { candidateCount: 1 },
    });
    assert.deepEqual(one.warnings, []);
  });

  it("safetySettings and other top-level fields are dropped with a warning", () => {
    const { warnings } = geminiRequestToCanonical({
      contents: [{ parts: [{ text: "x" }] }],
      safetySettings: [{ category: "HARM_CATEGORY_HATE_SPEECH", threshold: "BLOCK_NONE" }],
    });
    assert.deepEqual(warnings, ["safetySettings is not supported across providers and was dropped"]);
  });
});
