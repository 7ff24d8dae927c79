// The credits formula of SPEC section 4, exactly:
//   OE = fresh × 0.35 + cached × 0.10 + output
//   credits = OE / 10,000 × max(multiplier, 0.5)
// each rounded half-up to the ledger's numeric(20,4) scale. A pricing
// version's constants become integers of 10^-8 once, so the formula runs in
// integer arithmetic (creditUnits.ts) with no rounding but the two the
// formula names.
import type { ModelAliasName } from "../llm/models.ts";
import type { ReportedUsage } from "../llm/types.ts";
import { CREDIT_SCALE, type CreditUnits } from "./creditUnits.ts";
import { divideHalfUp, inUnits } from "./fixedScale.ts";
import { pricingVersion, type PricingVersion } from "./pricing.ts";
import { recordedUsage } from "./recordedUsage.ts";

/** The places a pricing constant may have. */
const PRICE_SCALE = 8;
const PRICE_TO_CREDIT_SCALE = 10n ** BigInt(PRICE_SCALE - CREDIT_SCALE);

export interface TokenCounts {
  fresh: number;
  cached: number;
  output: number;
  total: number;
}

export interface Charge extends TokenCounts {
  oeTokens: CreditUnits;
  credits: CreditUnits;
  /** At the ledger's scale for costs: eight places. */
  providerCostUsd: string;
  pricingVersion: string;
  /** The provider reported figures the ledger's columns cannot hold (see recordedUsage.ts). */
  outOfRange: boolean;
}

/** A version's constants in units of 10^-PRICE_SCALE; the multipliers already raised to the floor. */
interface UnitPricing {
  fresh: bigint;
  cached: bigint;
  output: bigint;
  oeTokensPerCredit: bigint;
  multipliers: Record<ModelAliasName, bigint>;
}

const unitPricings = new WeakMap<PricingVersion, UnitPricing>();

function priceUnits(version: PricingVersion, name: string, text: string): bigint {
  const units = inUnits(text, PRICE_SCALE);
  if (units === null || units < 0n) throw new Error(`pricing version ${version.id}: ${name} ${JSON.stringify(text)} is not a non-negative decimal with at most ${PRICE_SCALE} places`);
  return units;
}

function unitPricing(version: PricingVersion): UnitPricing {
  let pricing = unitPricings.get(version);
  if (!pricing) {
    const floor = priceUnits(version, "multiplierFloor", version.multiplierFloor);
    const multipliers = {} as Record<ModelAliasName, bigint>;
    for (const [alias, multiplier] of Object.entries(version.multipliers) as [ModelAliasName, string][]) {
      const units = priceUnits(version, `multiplier of ${alias}`, multiplier);
      multipliers[alias] = units > floor ? units : floor;
    }
    const oeTokensPerCredit = priceUnits(version, "oeTokensPerCredit", version.oeTokensPerCredit);
    if (oeTokensPerCredit === 0n) throw new Error(`pricing version ${version.id}: oeTokensPerCredit is 0`);
    pricing = {
      fresh: priceUnits(version, "weight fresh", version.weights.fresh),
      cached: priceUnits(version, "weight cached", version.weights.cached),
      output: priceUnits(version, "weight output", version.weights.output),
      oeTokensPerCredit,
      multipliers,
    };
    unitPricings.set(version, pricing);
  }
  return pricing;
}

/** OE tokens at the ledger's scale. Token counts are non-negative integers. */
export function oeTokens(tokens: Pick<TokenCounts, "fresh" | "cached" | "output">, version: PricingVersion): CreditUnits {
  const pricing = unitPricing(version);
  const weighted = BigInt(tokens.fresh) * pricing.fresh + BigInt(tokens.cached) * pricing.cached + BigInt(tokens.output) * pricing.output;
  return divideHalfUp(weighted, PRICE_TO_CREDIT_SCALE);
}

/** The credits of `oe` OE tokens (at the ledger's scale) on `alias`. */
export function creditsFor(oe: CreditUnits, alias: ModelAliasName, version: PricingVersion): CreditUnits {
  const pricing = unitPricing(version);
  // oe/10^4 × (m/10^8) ÷ (perCredit/10^8) credits, in units of 10^-4: oe × m ÷ perCredit.
  return divideHalfUp(oe * pricing.multipliers[alias], pricing.oeTokensPerCredit);
}

export function chargeFor(usage: ReportedUsage, alias: ModelAliasName, versionId: string): Charge {
  const version = pricingVersion(versionId);
  if (!version) throw new Error(`unknown pricing version ${versionId}`);
  // Fields named one by one: object rest and spread here cost more than the arithmetic.
  const recorded = recordedUsage(usage);
  const oe = oeTokens(recorded, version);
  return {
    fresh: recorded.fresh,
    cached: recorded.cached,
    output: recorded.output,
    total: recorded.total,
    oeTokens: oe,
    credits: creditsFor(oe, alias, version),
    providerCostUsd: recorded.costUsd,
    pricingVersion: version.id,
    outOfRange: recorded.outOfRange,
  };
}
