// A turn's running sums (src/metering/usageSums.ts) add amounts at the
// ledger's scale as integers of their smallest unit. They must give exactly
// what Decimal's add and toFixed give wherever Decimal is exact (sums of up
// to 20 significant digits, its precision; a ledger row's amounts have far
// fewer), and for odd spellings, which fall back to Decimal. Beyond 20
// digits Decimal rounds and these sums stay exact.
import { describe, expect, test } from "vitest";
import { Prisma } from "../src/generated/prisma/client.ts";
import { addAtScale, addRow, emptyUsage } from "../src/metering/usageSums.ts";
import type { LedgerRow } from "../src/metering/ledger.ts";
import { seededRandom } from "./support/seededRandom.ts";

const viaDecimal = (a: string, b: string, scale: number) => new Prisma.Decimal(a).add(b).toFixed(scale);

function amount(random: () => number, scale: number): string {
  // At most 19 significant digits, so that a sum fits in Decimal's 20.
  const wholeDigits = Math.floor(random() * (19 - scale)) + 1;
  const whole = Array.from({ length: wholeDigits }, () => Math.floor(random() * 10)).join("");
  const places = Math.floor(random() * (scale + 1));
  const fraction = Array.from({ length: places }, () => Math.floor(random() * 10)).join("");
  const sign = random() < 0.1 ? "-" : "";
  return `${sign}${whole}${places > 0 || random() < 0.5 ? "." : ""}${fraction}`;
}

describe("addAtScale", () => {
  test.each([0, 2, 4, 8])("equals Decimal's add then toFixed(%i) over 20,000 random pairs", (scale) => {
    const random = seededRandom(scale);
    for (let index = 0; index < 20_000; index++) {
      const [a, b] = [amount(random, scale), amount(random, scale)];
      expect(addAtScale(a, b, scale), `${a} + ${b}`).toBe(viaDecimal(a, b, scale));
    }
  });

  test.each([
    ["0.0000", "0.0000"],
    ["-0.0001", "0.0001"],
    ["0.0001", "-0.0003"],
    ["2.1791", "10.2363"],
    ["9999999999999999.9999", "0.0001"],
    ["007.5", "0.25"],
    ["12.", "1"],
    // Not plain decimals at the scale: Decimal's own result (rounded half up, exponents read).
    ["0.00005", "0"],
    ["0.00015", "0.1"],
    ["1e-4", "1"],
    [".5", "0.5"],
    ["+1", "1"],
  ])("%s + %s", (a, b) => {
    expect(addAtScale(a, b, 4)).toBe(viaDecimal(a, b, 4));
  });
});

test("beyond Decimal's 20 significant digits the sum stays exact", () => {
  expect(addAtScale("78880951532.12490858", "988903937035.684", 8)).toBe("1067784888567.80890858");
  expect(viaDecimal("78880951532.12490858", "988903937035.684", 8)).toBe("1067784888567.80890860");
});

test("the sums add every row: calls, tokens, credits and cost", () => {
  const row = (credits: string, cost: string) => ({ input_tokens_fresh: 100, input_tokens_cached: 20, output_tokens: 350, total_tokens: 470, credits_burned: credits, provider_cost_usd: cost }) as LedgerRow;
  const step = addRow(addRow(emptyUsage(), row("0.0028", "0.00001234")), row("2.1791", "0.00210000"));
  expect(step).toEqual({ calls: 2, inputTokensFresh: 200, inputTokensCached: 40, outputTokens: 700, totalTokens: 940, credits: "2.1819", providerCostUsd: "0.00211234" });
  expect(addRow(step, row("10.2363", "0.1"))).toEqual({
    calls: 3,
    inputTokensFresh: 300,
    inputTokensCached: 60,
    outputTokens: 1050,
    totalTokens: 1410,
    credits: "12.4182",
    providerCostUsd: "0.10211234",
  });
});
