// Running sums of ledger rows, kept as a turn runs so its events can carry
// what each step and the whole turn cost the moment they end. Decimals stay
// exact: amounts at the ledger's scale are summed as integers of their
// smallest unit (a Decimal per addition cost about 2% of a turn's server
// CPU); anything else goes through Decimal. Token sums may exceed 32 bits.
import { Prisma } from "../generated/prisma/client.ts";
import { CREDIT_SCALE, creditsText } from "./creditUnits.ts";
import { formatUnits, inUnits } from "./fixedScale.ts";
import type { LedgerRow } from "./ledger.ts";
import { COST_SCALE, NO_COST } from "./recordedUsage.ts";

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

const NO_CREDITS = creditsText(0n);

export function emptyUsage(): UsageSums {
  return { calls: 0, inputTokensFresh: 0, inputTokensCached: 0, outputTokens: 0, totalTokens: 0, credits: NO_CREDITS, providerCostUsd: NO_COST };
}

/** The sums with one more row. */
export function addRow(sums: UsageSums, row: LedgerRow): UsageSums {
  return {
    calls: sums.calls + 1,
    inputTokensFresh: sums.inputTokensFresh + row.input_tokens_fresh,
    inputTokensCached: sums.inputTokensCached + row.input_tokens_cached,
    outputTokens: sums.outputTokens + row.output_tokens,
    totalTokens: sums.totalTokens + row.total_tokens,
    credits: addAtScale(sums.credits, row.credits_burned, CREDIT_SCALE),
    providerCostUsd: addAtScale(sums.providerCostUsd, row.provider_cost_usd, COST_SCALE),
  };
}
