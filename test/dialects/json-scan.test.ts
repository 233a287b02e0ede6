import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FieldScanner } from "../../src/dialects/shared/field-scanner.ts";
import { firstNumberValue, firstStringValue, sumStringValueLengths } from "../../src/dialects/shared/json-scan.ts";
import { seededRandom } from "./helpers.ts";

/** All values of `key` anywhere in a parsed document, in document order (the oracle the scanners must agree with). */
function valuesOf(value: unknown, key: string): unknown[] {
  if (Array.isArray(value)) return value.flatMap((v) => valuesOf(v, key));
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => [...(k === key ? [v] : []), ...valuesOf(v, key)]);
}

function stringValues(value: unknown, key: string): string[] {
  return valuesOf(value, key).filter((v): v is string => typeof v === "string");
}

const TRICKY = [
  '"',
  "\\",
  '\\"',
  '"text":"',
  '"text" : "',
  "\n",
  "\u2028",
  "\u00f7",
  "\ud83d\ude00",
  "\u0000",
  "text",
  "}",
  "{",
  ":",
];

function randomText(random: () => number): string {
  let s = "";
  const n = Math.floor(random() * 8);
  for (let i = 0; i < n; i++) {
    s +=
      random() < 0.5
        ? (TRICKY[Math.floor(random() * TRICKY.length)] ?? "")
        : String.fromCharCode(32 + Math.floor(random() * 95));
  }
  return s;
}

function randomDocument(random: () => number, depth: number): unknown {
  const r = random();
  if (depth > 3 || r < 0.3) return randomText(random);
  if (r < 0.4) return Math.floor(random() * 1000);
  if (r < 0.5) return null;
  if (r < 0.65) return Array.from({ length: Math.floor(random() * 3) }, () => randomDocument(random, depth + 1));
  const keys = ["text", "type", "delta", "content", randomText(random)];
  const obj: Record<string, unknown> = {};
  for (let i = 0; i < 3; i++) obj[keys[Math.floor(random() * keys.length)] ?? "k"] = randomDocument(random, depth + 1);
  return obj;
}

describe("json-scan agrees with JSON.parse", () => {
  it("on thousands of random documents with tricky strings, keys and values, compact and indented", () => {
    const random = seededRandom(42);
    const keys = ["text", "delta", "content"];
    const scanner = new FieldScanner(keys);
    const isObj = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
    for (let i = 0; i < 3000; i++) {
      const doc = randomDocument(random, 0);
      for (const json of [JSON.stringify(doc), JSON.stringify(doc, null, 2)]) {
        scanner.scan(json);
        keys.forEach((key, k) => {
          const values = valuesOf(doc, key);
          const strings = stringValues(doc, key);
          const chars = strings.reduce((n, v) => n + v.length, 0);
          assert.equal(sumStringValueLengths(json, key), chars, json);
          assert.equal(firstStringValue(json, key), strings[0] ?? null, json);
          assert.equal(scanner.chars(k), chars, json);
          assert.equal(scanner.first(k), strings[0] ?? null, json);
          assert.equal(scanner.seen(k), values.length > 0, json);
          assert.equal(scanner.hasObject(k), values.some(isObj), json);
          assert.equal(
            scanner.hasNonEmptyArray(k),
            values.some((v) => Array.isArray(v) && v.length > 0),
            json,
          );
        });
      }
    }
  });

  it("firstStringValue decodes escapes and takes document order", () => {
    assert.equal(firstStringValue('{"a":{"model":"x\\"y\\u00e9"},"model":"z"}', "model"), 'x"yé');
    assert.equal(firstStringValue('{"model": null, "b": {"model" : "m"}}', "model"), "m");
    assert.equal(firstStringValue('{"type":"model","x":1}', "model"), null);
  });

  it("FieldScanner tells object, array and string values apart from null", () => {
    const scanner = new FieldScanner(["usage", "choices", "tool_calls", "model"]);
    scanner.scan('{"usage":null,"choices":[ ],"x_groq":{"usage":{"prompt_tokens":1}},"tool_calls":null,"model":"m"}');
    assert.equal(scanner.hasObject(0), true);
    assert.equal(scanner.hasNonEmptyArray(1), false);
    assert.equal(scanner.seen(2), true);
    assert.equal(scanner.hasNonEmptyArray(2), false);
    assert.equal(scanner.first(3), "m");
    scanner.scan('{"usage":null}');
    assert.equal(scanner.hasObject(0), false);
    assert.equal(scanner.first(3), null);
  });

  it("reads numbers", () => {
    assert.equal(firstNumberValue('{"usage": {"prompt_tokens": 1234, "total_tokens": 1234}}', "prompt_tokens"), 1234);
    assert.equal(firstNumberValue('{"prompt_tokens":"12"}', "prompt_tokens"), null);
  });
});
