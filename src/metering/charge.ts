// The credits formula of SPEC section 4, in exact decimals:
//   OE = fresh × 0.35 + cached × 0.10 + output
//   credits = OE / 10,000 × max(multiplier, 0.5)
// rounded half-up to the ledger's numeric(20,4) scale.
import { Prisma } from "../generated/prisma/client.ts";
import type { ModelAliasName } from "../llm/models.ts";
import type { ReportedUsage } from "../llm/types.ts";
import { pricingVersion, type PricingVersion } from "./pricing.ts";
import { recordedUsage } from "./recordedUsage.ts";

const Decimal = Prisma.Decimal;
type Decimal = Prisma.Decimal;

const LEDGER_SCALE = 4;

export interface TokenCounts {
  fresh: number;
  cached: number;
  output: number;
  total: number;
}

export interface Charge extends TokenCounts {
  oeTokens: Decimal;
  credits: Decimal;
  providerCostUsd: Decimal;
  pricingVersion: string;
  /** The provider reported figures the ledger's columns cannot hold (see recordedUsage.ts). */
  outOfRange: boolean;
}

export function oeTokens(tokens: Pick<TokenCounts, "fresh" | "cached" | "output">, version: PricingVersion): Decimal {
  return new Decimal(tokens.fresh)
    .mul(version.weights.fresh)
    .add(new Decimal(tokens.cached).mul(version.weights.cached))
    .add(new Decimal(tokens.output).mul(version.weights.output))
    .toDecimalPlaces(LEDGER_SCALE, Decimal.ROUND_HALF_UP);
}

export function creditsFor(oe: Decimal, alias: ModelAliasName, version: PricingVersion): Decimal {
  const multiplier = Decimal.max(version.multipliers[alias], version.multiplierFloor);
  return oe.div(version.oeTokensPerCredit).mul(multiplier).toDecimalPlaces(LEDGER_SCALE, Decimal.ROUND_HALF_UP);
}

export function chargeFor(usage: ReportedUsage, alias: ModelAliasName, versionId: string): Charge {
  const version = pricingVersion(versionId);
  if (!version) throw new Error(`unknown pricing version ${versionId}`);
  const { costUsd, outOfRange, ...tokens } = recordedUsage(usage);
  const oe = oeTokens(tokens, version);
  return { ...tokens, oeTokens: oe, credits: creditsFor(oe, alias, version), providerCostUsd: costUsd, pricingVersion: version.id, outOfRange };
}
