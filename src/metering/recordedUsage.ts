// Provider usage as the ledger's columns can hold it. The contract's token
// columns are PostgreSQL integers and the cost is numeric(20,8); a provider
// may report more (or a fraction, or a negative number). Such a call is never
// dropped: each column holds the nearest value it can (the clamp), the row is
// flagged `usage_out_of_range`, and the report itself is kept verbatim in
// `reported_usage`. Credits follow the stored columns, so a row reprices to
// the same figure from what it stores.
import { Prisma } from "../generated/prisma/client.ts";
import type { ReportedUsage } from "../llm/types.ts";
import { formatUnits, inUnits } from "./fixedScale.ts";

const Decimal = Prisma.Decimal;
type Decimal = Prisma.Decimal;

/** PostgreSQL `integer`. */
export const MAX_TOKEN_COLUMN = 2_147_483_647;
/** provider_cost_usd is numeric(20,8): eight places, 12 digits before the point. */
export const COST_SCALE = 8;
const MAX_COST_UNITS = 10n ** 20n - 1n;
const MAX_COST_USD = new Decimal(formatUnits(MAX_COST_UNITS, COST_SCALE));

export interface RecordedUsage {
  fresh: number;
  cached: number;
  output: number;
  total: number;
  /** At the column's scale: eight places. */
  costUsd: string;
  /** True when any figure had to be clamped to fit its column. */
  outOfRange: boolean;
}

function clampCount(value: number): { value: number; clamped: boolean } {
  const fitted = Number.isFinite(value) ? Math.min(MAX_TOKEN_COLUMN, Math.max(0, Math.ceil(value))) : value > 0 ? MAX_TOKEN_COLUMN : 0;
  return { value: fitted, clamped: fitted !== value };
}

/** A zero cost at the column's scale. */
export const NO_COST = formatUnits(0n, COST_SCALE);

function clampCost(costUsd: string | undefined): { value: string; clamped: boolean } {
  if (costUsd === undefined) return { value: NO_COST, clamped: false };
  // The usual report, a plain amount the column holds as it is, needs no Decimal.
  const units = inUnits(costUsd, COST_SCALE);
  if (units !== null && units >= 0n && units <= MAX_COST_UNITS) return { value: formatUnits(units, COST_SCALE), clamped: false };
  let reported: Decimal;
  try {
    reported = new Decimal(costUsd);
  } catch {
    return { value: NO_COST, clamped: true };
  }
  if (reported.isNaN()) return { value: NO_COST, clamped: true };
  const fitted = Decimal.min(MAX_COST_USD, Decimal.max(0, reported)).toDecimalPlaces(COST_SCALE, Decimal.ROUND_HALF_UP);
  // Rounding to the column's scale is the column's precision, not a clamp.
  return { value: fitted.toFixed(COST_SCALE), clamped: !reported.toDecimalPlaces(COST_SCALE, Decimal.ROUND_HALF_UP).equals(fitted) };
}

/** Cached-token fallback (SPEC 4): no cached figure → cached 0 and every input token fresh. */
export function recordedUsage(usage: ReportedUsage): RecordedUsage {
  const prompt = clampCount(usage.promptTokens);
  const cachedReported = clampCount(usage.cachedTokens ?? 0);
  const output = clampCount(usage.completionTokens);
  const cached = Math.min(cachedReported.value, prompt.value);
  const total = usage.totalTokens === undefined ? { value: Math.min(MAX_TOKEN_COLUMN, prompt.value + output.value), clamped: prompt.value + output.value > MAX_TOKEN_COLUMN } : clampCount(usage.totalTokens);
  const cost = clampCost(usage.costUsd);
  return {
    fresh: prompt.value - cached,
    cached,
    output: output.value,
    total: total.value,
    costUsd: cost.value,
    outOfRange: prompt.clamped || cachedReported.clamped || output.clamped || total.clamped || cost.clamped,
  };
}
