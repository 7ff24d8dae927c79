// Running sums of ledger rows, kept as a turn runs so its events can carry
// what each step and the whole turn cost the moment they end. Decimals stay
// exact (strings summed as decimals); token sums may exceed 32 bits.
import { Prisma } from "../generated/prisma/client.ts";
import type { LedgerRow } from "./ledger.ts";

export interface UsageSums {
  calls: number;
  inputTokensFresh: number;
  inputTokensCached: number;
  outputTokens: number;
  totalTokens: number;
  /** Decimal string, the ledger's scale. */
  credits: string;
  /** Decimal string, the ledger's scale. */
  providerCostUsd: string;
}

export function emptyUsage(): UsageSums {
  return { calls: 0, inputTokensFresh: 0, inputTokensCached: 0, outputTokens: 0, totalTokens: 0, credits: "0.0000", providerCostUsd: "0.00000000" };
}

/** The sums with one more row. */
export function addRow(sums: UsageSums, row: LedgerRow): UsageSums {
  const one = {
    calls: 1,
    inputTokensFresh: row.input_tokens_fresh,
    inputTokensCached: row.input_tokens_cached,
    outputTokens: row.output_tokens,
    totalTokens: row.total_tokens,
    credits: row.credits_burned,
    providerCostUsd: row.provider_cost_usd,
  };
  return sumUsage([sums, one]);
}

/** The sums of several sums (a turn's from its steps'). */
export function sumUsage(parts: UsageSums[]): UsageSums {
  return parts.reduce(
    (sum, part) => ({
      calls: sum.calls + part.calls,
      inputTokensFresh: sum.inputTokensFresh + part.inputTokensFresh,
      inputTokensCached: sum.inputTokensCached + part.inputTokensCached,
      outputTokens: sum.outputTokens + part.outputTokens,
      totalTokens: sum.totalTokens + part.totalTokens,
      credits: new Prisma.Decimal(sum.credits).add(part.credits).toFixed(4),
      providerCostUsd: new Prisma.Decimal(sum.providerCostUsd).add(part.providerCostUsd).toFixed(8),
    }),
    emptyUsage(),
  );
}
