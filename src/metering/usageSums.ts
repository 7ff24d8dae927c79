// Running sums of ledger rows, kept as a turn runs so its events can carry
// what each step and the whole turn cost the moment they end. Decimals stay
// exact: amounts at the ledger's scale are summed as integers of their
// smallest unit (a Decimal per addition cost about 2% of a turn's server
// CPU); anything else goes through Decimal. Token sums may exceed 32 bits.
import { Prisma } from "../generated/prisma/client.ts";
import { formatUnits, inUnits } from "./fixedScale.ts";
import type { LedgerRow } from "./ledger.ts";

const CREDITS_SCALE = 4;
const COST_SCALE = 8;

/** a + b formatted at `scale` places, as Decimal's add and toFixed(scale) give it. */
export function addAtScale(a: string, b: string, scale: number): string {
  const [left, right] = [inUnits(a, scale), inUnits(b, scale)];
  if (left === null || right === null) return new Prisma.Decimal(a).add(b).toFixed(scale);
  // A zero sum has no sign, as Decimal writes it (BigInt has no negative zero).
  return formatUnits(left + right, scale);
}

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
  return addSums(sums, one);
}

function addSums(sum: UsageSums, part: UsageSums): UsageSums {
  return {
    calls: sum.calls + part.calls,
    inputTokensFresh: sum.inputTokensFresh + part.inputTokensFresh,
    inputTokensCached: sum.inputTokensCached + part.inputTokensCached,
    outputTokens: sum.outputTokens + part.outputTokens,
    totalTokens: sum.totalTokens + part.totalTokens,
    credits: addAtScale(sum.credits, part.credits, CREDITS_SCALE),
    providerCostUsd: addAtScale(sum.providerCostUsd, part.providerCostUsd, COST_SCALE),
  };
}

