// Usage totals of one turn, summed from its ledger rows in the database.
import type { Db } from "../db.ts";

export interface UsageTotals {
  calls: number;
  inputTokensFresh: number;
  inputTokensCached: number;
  outputTokens: number;
  totalTokens: number;
  creditsBurned: string;
  providerCostUsd: string;
}

interface TotalsRow {
  calls: bigint;
  fresh: bigint;
  cached: bigint;
  output: bigint;
  total: bigint;
  credits: string;
  cost: string;
}

export async function turnUsageTotals(prisma: Db, turnId: string): Promise<UsageTotals> {
  const [row] = await prisma.$queryRaw<TotalsRow[]>`
    SELECT count(*) AS calls,
           coalesce(sum(input_tokens_fresh), 0)::bigint AS fresh,
           coalesce(sum(input_tokens_cached), 0)::bigint AS cached,
           coalesce(sum(output_tokens), 0)::bigint AS output,
           coalesce(sum(total_tokens), 0)::bigint AS total,
           coalesce(sum(credits_burned), 0)::text AS credits,
           coalesce(sum(provider_cost_usd), 0)::text AS cost
      FROM llm_call_events WHERE turn_id = ${turnId}::uuid`;
  return {
    calls: Number(row!.calls),
    inputTokensFresh: Number(row!.fresh),
    inputTokensCached: Number(row!.cached),
    outputTokens: Number(row!.output),
    totalTokens: Number(row!.total),
    creditsBurned: row!.credits,
    providerCostUsd: row!.cost,
  };
}
