// How credits and OE tokens are read in usage SQL: as charged (the stored
// columns, each row under the version it was priced with) or repriced under
// one version of src/metering/pricing.ts, recomputed per row from the stored
// token counts with the same rounding as the ledger writer. Rows are never
// rewritten; the pricing data is passed as parameters, so the module stays
// the single source of truth.
import { empty, sql, type Sql } from "../db/sql.ts";
import { ValidationError } from "../errors.ts";
import { pricingVersion, type PricingVersion } from "../metering/pricing.ts";

export type Pricing = { kind: "asCharged" } | { kind: "repriced"; version: PricingVersion };

export function resolvePricing(versionId: string | null | undefined): Pricing {
  if (versionId === null || versionId === undefined) return { kind: "asCharged" };
  const version = pricingVersion(versionId);
  if (!version) throw new ValidationError([{ path: ["pricingVersion"], message: `Unknown pricing version ${versionId}.` }]);
  return { kind: "repriced", version };
}

/** OE tokens of one ledger row (alias `e`). */
export function oeExpression(pricing: Pricing): Sql {
  if (pricing.kind === "asCharged") return sql`e.oe_tokens_computed`;
  const { weights } = pricing.version;
  return sql`round(e.input_tokens_fresh * ${weights.fresh}::numeric + e.input_tokens_cached * ${weights.cached}::numeric + e.output_tokens * ${weights.output}::numeric, 4)`;
}

/** Credits of one ledger row (alias `e`); repricing needs pricingJoin(). */
export function creditsExpression(pricing: Pricing): Sql {
  if (pricing.kind === "asCharged") return sql`e.credits_burned`;
  const { oeTokensPerCredit, multiplierFloor } = pricing.version;
  // An alias the version does not list is priced at the floor, like max(multiplier, floor).
  return sql`round(${oeExpression(pricing)} / ${oeTokensPerCredit}::numeric * greatest(coalesce(price.multiplier, ${multiplierFloor}::numeric), ${multiplierFloor}::numeric), 4)`;
}

/** The version's multipliers as a relation `price(alias, multiplier)` joined to `e`. */
export function pricingJoin(pricing: Pricing): Sql {
  if (pricing.kind === "asCharged") return empty;
  const entries = Object.entries(pricing.version.multipliers);
  const aliases = entries.map(([alias]) => alias);
  const multipliers = entries.map(([, multiplier]) => multiplier);
  return sql`LEFT JOIN unnest(${aliases}::text[], ${multipliers}::numeric[]) AS price(alias, multiplier) ON price.alias = e.model_alias`;
}

/** What a report says about its credits. */
export interface PricingStatement {
  repriced: boolean;
  /** The version used when repriced; otherwise the versions stored on the rows counted. */
  pricingVersions: string[];
}

export function pricingStatement(pricing: Pricing, chargedVersions: string[]): PricingStatement {
  return pricing.kind === "repriced"
    ? { repriced: true, pricingVersions: [pricing.version.id] }
    : { repriced: false, pricingVersions: [...chargedVersions].sort() };
}
