// The sums every usage report carries, as SQL select lists over the raw
// ledger (alias `e`) or the daily rollup (alias `r`), and their mapping to
// exact values: counts as numbers, money and credits as fixed-scale decimal
// strings. Empty scopes sum to zero, never null.
import { sql, type Sql } from "../db/sql.ts";
import { creditsExpression, oeExpression, type Pricing } from "./pricingSql.ts";

export interface UsageAmounts {
  calls: number;
  /** Calls whose status is not `success`. */
  errorCount: number;
  inputTokensFresh: number;
  inputTokensCached: number;
  outputTokens: number;
  totalTokens: number;
  oeTokens: string;
  credits: string;
  providerCostUsd: string;
}

export interface AmountsRow {
  calls: bigint | number;
  error_count: bigint | number;
  fresh: bigint | number;
  cached: bigint | number;
  output: bigint | number;
  total: bigint | number;
  oe: string;
  credits: string;
  cost: string;
}

/** Money scales: OE tokens and credits as the ledger's numeric(20,4), USD as numeric(20,8). */
const sums = (parts: { calls: Sql; errors: Sql; fresh: Sql; cached: Sql; output: Sql; total: Sql; oe: Sql; credits: Sql; cost: Sql }) => sql`
  ${parts.calls}::bigint AS calls,
  ${parts.errors}::bigint AS error_count,
  coalesce(sum(${parts.fresh}), 0)::bigint AS fresh,
  coalesce(sum(${parts.cached}), 0)::bigint AS cached,
  coalesce(sum(${parts.output}), 0)::bigint AS output,
  coalesce(sum(${parts.total}), 0)::bigint AS total,
  coalesce(sum(${parts.oe}), 0)::numeric(24,4)::text AS oe,
  coalesce(sum(${parts.credits}), 0)::numeric(24,4)::text AS credits,
  coalesce(sum(${parts.cost}), 0)::numeric(24,8)::text AS cost`;

export function ledgerAmountsSql(pricing: Pricing): Sql {
  return sums({
    calls: sql`count(*)`,
    errors: sql`count(*) FILTER (WHERE e.status <> 'success')`,
    fresh: sql`e.input_tokens_fresh`,
    cached: sql`e.input_tokens_cached`,
    output: sql`e.output_tokens`,
    total: sql`e.total_tokens`,
    oe: oeExpression(pricing),
    credits: creditsExpression(pricing),
    cost: sql`e.provider_cost_usd`,
  });
}

/** Rollup rows hold stored (as charged) amounts only; repricing reads the ledger. */
export function rollupAmountsSql(): Sql {
  return sums({
    calls: sql`coalesce(sum(r.calls), 0)`,
    errors: sql`coalesce(sum(r.error_calls), 0)`,
    fresh: sql`r.input_tokens_fresh`,
    cached: sql`r.input_tokens_cached`,
    output: sql`r.output_tokens`,
    total: sql`r.total_tokens`,
    oe: sql`r.oe_tokens`,
    credits: sql`r.credits_burned`,
    cost: sql`r.provider_cost_usd`,
  });
}

export function toAmounts(row: AmountsRow): UsageAmounts {
  return {
    calls: Number(row.calls),
    errorCount: Number(row.error_count),
    inputTokensFresh: Number(row.fresh),
    inputTokensCached: Number(row.cached),
    outputTokens: Number(row.output),
    totalTokens: Number(row.total),
    oeTokens: row.oe,
    credits: row.credits,
    providerCostUsd: row.cost,
  };
}
