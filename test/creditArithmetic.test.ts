// A call's charge and bound are computed in integers of 0.0001 credit
// (src/metering/charge.ts, creditUnits.ts). They must give exactly what the
// SPEC 4 formula gives in decimal arithmetic, rounded half up to four places
// twice (OE, then credits), for every pricing version and model, from a
// single token to the ledger's largest token counts; and the search for the
// largest output a hold allows must find the true largest.
import { describe, expect, test } from "vitest";
import { Prisma } from "../src/generated/prisma/client.ts";
import { MODEL_ALIASES, type ModelAliasName } from "../src/llm/models.ts";
import { chargeOf, largestOutputWithin } from "../src/metering/callBound.ts";
import { chargeFor, creditsFor, oeTokens } from "../src/metering/charge.ts";
import { creditsText, creditUnits } from "../src/metering/creditUnits.ts";
import { divideHalfUp } from "../src/metering/fixedScale.ts";
import { CURRENT_PRICING_VERSION, PRICING_VERSIONS, type PricingVersion } from "../src/metering/pricing.ts";
import { MAX_TOKEN_COLUMN } from "../src/metering/recordedUsage.ts";
import { seededRandom } from "./support/seededRandom.ts";

const Decimal = Prisma.Decimal;

/** The formula as written in SPEC 4, in Decimal: the reference. */
function viaDecimal(tokens: { fresh: number; cached: number; output: number }, alias: ModelAliasName, version: PricingVersion): { oe: string; credits: string } {
  const oe = new Decimal(tokens.fresh)
    .mul(version.weights.fresh)
    .add(new Decimal(tokens.cached).mul(version.weights.cached))
    .add(new Decimal(tokens.output).mul(version.weights.output))
    .toDecimalPlaces(4, Decimal.ROUND_HALF_UP);
  const multiplier = Decimal.max(version.multipliers[alias], version.multiplierFloor);
  return { oe: oe.toFixed(4), credits: oe.div(version.oeTokensPerCredit).mul(multiplier).toDecimalPlaces(4, Decimal.ROUND_HALF_UP).toFixed(4) };
}

function tokenCount(random: () => number): number {
  // Mostly a call's sizes, sometimes anything up to the column's largest.
  const roll = random();
  if (roll < 0.1) return Math.floor(random() * 10);
  if (roll < 0.8) return Math.floor(random() * 200_000);
  return Math.floor(random() * (MAX_TOKEN_COLUMN + 1));
}

const cases = Object.values(PRICING_VERSIONS).flatMap((version) => MODEL_ALIASES.map((alias) => [version.id, alias] as const));

describe("the credits formula in integers", () => {
  test.each(cases)("pricing %s, %s: equals the Decimal formula over 20,000 random calls and the extremes", (versionId, alias) => {
    const version = PRICING_VERSIONS[versionId]!;
    const random = seededRandom(versionId.length * 31 + alias.length);
    const samples = [
      { fresh: 0, cached: 0, output: 0 },
      { fresh: 0, cached: 0, output: 1 },
      { fresh: 1, cached: 0, output: 0 },
      { fresh: 0, cached: 1, output: 0 },
      { fresh: MAX_TOKEN_COLUMN, cached: MAX_TOKEN_COLUMN, output: MAX_TOKEN_COLUMN },
      ...Array.from({ length: 20_000 }, () => ({ fresh: tokenCount(random), cached: tokenCount(random), output: tokenCount(random) })),
    ];
    for (const tokens of samples) {
      const oe = oeTokens(tokens, version);
      expect({ oe: creditsText(oe), credits: creditsText(creditsFor(oe, alias, version)) }, JSON.stringify(tokens)).toEqual(viaDecimal(tokens, alias, version));
    }
  });

  test("rounding half up at both steps, where the formula lands exactly on a half", () => {
    const version = PRICING_VERSIONS[CURRENT_PRICING_VERSION]!;
    // 1 output token on llama: 1 OE × 0.5 / 10,000 = 0.00005 → 0.0001.
    expect(creditsText(creditsFor(oeTokens({ fresh: 0, cached: 0, output: 1 }, version), "llama", version))).toBe("0.0001");
    // 3 fresh on deepseek: 1.05 OE → 0.000105 → 0.0001; 29 fresh: 10.15 OE → 0.001015 → 0.0010.
    expect(creditsText(creditsFor(oeTokens({ fresh: 3, cached: 0, output: 0 }, version), "deepseek", version))).toBe("0.0001");
    expect(creditsText(creditsFor(oeTokens({ fresh: 29, cached: 0, output: 0 }, version), "deepseek", version))).toBe("0.0010");
    expect([divideHalfUp(5n, 10n), divideHalfUp(4n, 10n), divideHalfUp(15n, 10n), divideHalfUp(0n, 7n)]).toEqual([1n, 0n, 2n, 0n]);
    expect(() => divideHalfUp(-1n, 2n)).toThrow(RangeError);
  });

  test("a ledger row's charge: the same figures chargeFor stores, the cost at eight places", () => {
    const charge = chargeFor({ promptTokens: 1000, cachedTokens: 200, completionTokens: 500, totalTokens: undefined, costUsd: "0.0012" }, "premium", CURRENT_PRICING_VERSION);
    expect([creditsText(charge.oeTokens), creditsText(charge.credits), charge.providerCostUsd, charge.outOfRange]).toEqual(["800.0000", "1.1200", "0.00120000", false]);
    // An odd cost still goes through Decimal and is kept at the column's scale.
    expect(chargeFor({ promptTokens: 1, cachedTokens: undefined, completionTokens: 1, totalTokens: undefined, costUsd: "1e-3" }, "qwen", CURRENT_PRICING_VERSION).providerCostUsd).toBe("0.00100000");
    expect(chargeFor({ promptTokens: 1, cachedTokens: undefined, completionTokens: 1, totalTokens: undefined, costUsd: "0.123456789" }, "qwen", CURRENT_PRICING_VERSION)).toMatchObject({ providerCostUsd: "0.12345679", outOfRange: false });
    expect(chargeFor({ promptTokens: 1, cachedTokens: undefined, completionTokens: 1, totalTokens: undefined, costUsd: "-2" }, "qwen", CURRENT_PRICING_VERSION)).toMatchObject({ providerCostUsd: "0.00000000", outOfRange: true });
  });

  test("a pricing constant the integers cannot hold exactly is refused, not rounded", () => {
    const version: PricingVersion = { ...PRICING_VERSIONS[CURRENT_PRICING_VERSION]!, id: "odd", weights: { fresh: "0.123456789", cached: "0.1", output: "1" } };
    expect(() => oeTokens({ fresh: 1, cached: 0, output: 0 }, version)).toThrow(/weight fresh "0.123456789"/);
  });

  test("amounts read back from PostgreSQL's numeric(20,4) text, and nothing else", () => {
    expect([creditUnits("0.1036"), creditUnits("12"), creditUnits("-0.0001"), creditUnits("9999999999999999.9999")]).toEqual([1036n, 120000n, -1n, 99999999999999999999n]);
    for (const text of ["0.00001", "1e3", "", "abc", "1.2.3"]) expect(() => creditUnits(text), text).toThrow(RangeError);
  });
});

describe("the largest output a hold allows", () => {
  test("is the largest whose bound fits: the next one up does not, over 2,000 random holds", () => {
    const random = seededRandom(7);
    for (let index = 0; index < 2_000; index++) {
      const alias = MODEL_ALIASES[Math.floor(random() * MODEL_ALIASES.length)]!;
      const input = Math.floor(random() * 50_000);
      const cap = Math.floor(random() * 8_192);
      const held = chargeOf(alias, input, Math.floor(random() * cap)) + BigInt(Math.floor(random() * 3));
      const output = largestOutputWithin(alias, input, held, cap);
      const label = `${alias} input ${input} cap ${cap} held ${creditsText(held)}`;
      expect(chargeOf(alias, input, output) <= held, label).toBe(true);
      if (output < cap) expect(chargeOf(alias, input, output + 1) > held, label).toBe(true);
    }
  });
});
