import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  estimateInputTokensFromRequestBytes,
  estimateTokensFromBytes,
  estimateTokensFromText,
} from "../../src/metering/estimate.ts";

describe("token estimates", () => {
  it("text: ceil(chars / 4), 0 for nothing or nonsense", () => {
    assert.equal(estimateTokensFromText(0), 0);
    assert.equal(estimateTokensFromText(1), 1);
    assert.equal(estimateTokensFromText(4), 1);
    assert.equal(estimateTokensFromText(5), 2);
    assert.equal(estimateTokensFromText(400), 100);
    assert.equal(estimateTokensFromText(-3), 0);
    assert.equal(estimateTokensFromText(Number.NaN), 0);
  });

  it("bytes and request bytes: ceil(bytes / 4)", () => {
    assert.equal(estimateTokensFromBytes(0), 0);
    assert.equal(estimateTokensFromBytes(9), 3);
    assert.equal(estimateInputTokensFromRequestBytes(4096), 1024);
    assert.equal(estimateInputTokensFromRequestBytes(Number.POSITIVE_INFINITY), 0);
  });
});
