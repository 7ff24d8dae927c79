// Usage totals of one turn (and of each of its steps), summed from its
// ledger rows in the database.
import type { Db } from "../db.ts";
import { sql } from "../db/sql.ts";
import { emptyUsage, type UsageSums } from "./usageSums.ts";

export type UsageTotals = UsageSums;

interface TotalsRow {
  step_id?: string | null;
  calls: bigint;
  fresh: bigint;
  cached: bigint;
  output: bigint;
  total: bigint;
  credits: string;
  cost: string;
}

// Hand-written: one statement gives every sum, money as exact decimal text and 0 (not null) for a turn without calls.
const SUMS = sql`count(*) AS calls,
           coalesce(sum(input_tokens_fresh), 0)::bigint AS fresh,
           coalesce(sum(input_tokens_cached), 0)::bigint AS cached,
           coalesce(sum(output_tokens), 0)::bigint AS output,
           coalesce(sum(total_tokens), 0)::bigint AS total,
           coalesce(sum(credits_burned), 0)::text AS credits,
           coalesce(sum(provider_cost_usd), 0)::text AS cost`;

function sumsOf(row: TotalsRow | undefined): UsageTotals {
  if (!row) return emptyUsage();
  return {
    calls: Number(row.calls),
    inputTokensFresh: Number(row.fresh),
    inputTokensCached: Number(row.cached),
    outputTokens: Number(row.output),
    totalTokens: Number(row.total),
    credits: row.credits,
    providerCostUsd: row.cost,
  };
}

export async function turnUsageTotals(prisma: Db, turnId: string): Promise<UsageTotals> {
  const [row] = await prisma.$queryRaw<TotalsRow[]>(sql`SELECT ${SUMS} FROM llm_call_events WHERE turn_id = ${turnId}::uuid`);
  return sumsOf(row);
}

/** Each step's sums (steps without a call are absent). */
export async function stepUsageTotals(prisma: Db, turnId: string): Promise<Map<string, UsageTotals>> {
  const rows = await prisma.$queryRaw<TotalsRow[]>(sql`SELECT step_id, ${SUMS} FROM llm_call_events WHERE turn_id = ${turnId}::uuid AND step_id IS NOT NULL GROUP BY step_id`);
  return new Map(rows.map((row) => [row.step_id!, sumsOf(row)]));
}
