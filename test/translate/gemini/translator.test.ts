import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { geminiTranslator } from "../../../src/translate/gemini/index.ts";
import { collect, fixtureLines, geminiWire, runMapper, sseEvents } from "./helpers.ts";

describe("geminiTranslator", () => {
  it("wires the six converters under the gemini dialect", () => {
    assert.equal(geminiTranslator.dialect, "gemini");
    const { value } = geminiTranslator.requestToCanonical({ contents: [{ parts: [{ text: "hi" }] }] });
    assert.deepEqual(geminiTranslator.canonicalToRequest({ ...value, model: "gemini-2.5-flash" }).value, {
      contents: [{ role: "user", parts: [{ text: "hi" }] }],
    });
    const events = runMapper(
      geminiTranslator.streamToCanonical(),
      sseEvents(geminiWire(fixtureLines("google/google-text.chunks.txt"))),
    );
    const wire = runMapper(geminiTranslator.canonicalToStream("gemini-3-pro-preview"), events).join("");
    assert.deepEqual(
      collect(runMapper(geminiTranslator.streamToCanonical(), sseEvents(wire))).parts,
      collect(events).parts,
    );
    const res = geminiTranslator.responseToCanonical({
      candidates: [{ content: { parts: [{ text: "ok" }] }, finishReason: "STOP" }],
    });
    assert.deepEqual(geminiTranslator.canonicalToResponse(res, "m").candidates, [
      { content: { role: "model", parts: [{ text: "ok" }] }, finishReason: "STOP", index: 0 },
    ]);
  });
});
