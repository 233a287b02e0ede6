/** Exact conversion of USD-per-million-token prices to integer nano-USD, and back to text. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatNanoUsd, usdPerMTokToNano } from "../../src/metering/pricing/index.ts";

describe("usdPerMTokToNano", () => {
  it("converts catalog numbers through their shortest decimal form", () => {
    assert.equal(usdPerMTokToNano(3), 3_000_000_000);
    assert.equal(usdPerMTokToNano(0.3), 300_000_000);
    assert.equal(usdPerMTokToNano(3.75), 3_750_000_000);
    assert.equal(usdPerMTokToNano(0.0375), 37_500_000);
    assert.equal(usdPerMTokToNano(0.067), 67_000_000); // 0.067 * 1e9 in floats is 67000000.00000001
    // Catalog values carrying float noise (both occur in genai-prices data) round at the 9th decimal:
    assert.equal(usdPerMTokToNano(0.18000000000000002), 180_000_000);
    assert.equal(usdPerMTokToNano(0.08333333333333334), 83_333_333);
    assert.equal(usdPerMTokToNano(0.003625), 3_625_000);
    assert.equal(usdPerMTokToNano(1e-7), 100); // String(1e-7) === "1e-7"
    assert.equal(usdPerMTokToNano(0), 0);
  });

  it("converts decimal strings exactly", () => {
    assert.equal(usdPerMTokToNano("0.30"), 300_000_000);
    assert.equal(usdPerMTokToNano(" 15 "), 15_000_000_000);
    assert.equal(usdPerMTokToNano("22.5"), 22_500_000_000);
    assert.equal(usdPerMTokToNano(".5"), 500_000_000);
    assert.equal(usdPerMTokToNano("2.5e-1"), 250_000_000);
  });

  it("rounds half-up at the 9th decimal", () => {
    assert.equal(usdPerMTokToNano("0.0000000005"), 1);
    assert.equal(usdPerMTokToNano("0.0000000004999"), 0);
    assert.equal(usdPerMTokToNano("12.3456789125"), 12_345_678_913);
    assert.equal(usdPerMTokToNano("12.3456789124"), 12_345_678_912);
    assert.equal(usdPerMTokToNano(1.5e-10), 0);
  });

  it("rejects what is not a non-negative decimal", () => {
    for (const bad of ["-1", "1,5", "", ".", "abc", "0x10", "1e999", "$3"]) {
      assert.throws(() => usdPerMTokToNano(bad), RangeError, bad);
    }
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, 1e300]) {
      assert.throws(() => usdPerMTokToNano(bad), RangeError, String(bad));
    }
  });
});

describe("formatNanoUsd", () => {
  it("prints exact USD without trailing zeros", () => {
    assert.equal(formatNanoUsd(11_175_000), "0.011175");
    assert.equal(formatNanoUsd(3_000_000_000), "3");
    assert.equal(formatNanoUsd(1), "0.000000001");
    assert.equal(formatNanoUsd(0), "0");
    assert.equal(formatNanoUsd(952_507_500n), "0.9525075");
    assert.equal(formatNanoUsd(-1_500_000_000), "-1.5");
  });
});
