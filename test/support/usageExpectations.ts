// Usage sums computed the plain way, in the test, from the rows it inserted:
// the reports must agree with these.
import { Prisma } from "../../src/generated/prisma/client.ts";
import type { LedgerFixture } from "../fixtures/ledger.ts";

const Decimal = Prisma.Decimal;

export interface ExpectedSums {
  calls: number;
  errorCount: number;
  inputTokensFresh: number;
  inputTokensCached: number;
  outputTokens: number;
  totalTokens: number;
  oeTokens: string;
  credits: string;
  providerCostUsd: string;
}

export interface ExpectedTotals extends ExpectedSums {
  latencyP50Ms: number;
  latencyP95Ms: number;
}

/** Nearest rank: the smallest value with at least q of the values at or below it. */
function nearestRank(values: number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(q * sorted.length) - 1]!;
}

export function expectedSums(rows: LedgerFixture[], credits: (row: LedgerFixture) => string = (row) => row.credits): ExpectedSums {
  return {
    calls: rows.length,
    errorCount: rows.filter((row) => row.status !== "success").length,
    inputTokensFresh: rows.reduce((sum, row) => sum + row.fresh, 0),
    inputTokensCached: rows.reduce((sum, row) => sum + row.cached, 0),
    outputTokens: rows.reduce((sum, row) => sum + row.output, 0),
    totalTokens: rows.reduce((sum, row) => sum + row.fresh + row.cached + row.output, 0),
    oeTokens: rows.reduce((sum, row) => sum.add(row.oeTokens), new Decimal(0)).toFixed(4),
    credits: rows.reduce((sum, row) => sum.add(credits(row)), new Decimal(0)).toFixed(4),
    providerCostUsd: rows.reduce((sum, row) => sum.add(row.costUsd), new Decimal(0)).toFixed(8),
  };
}

export function expectedTotals(rows: LedgerFixture[], credits?: (row: LedgerFixture) => string): ExpectedTotals {
  const latencies = rows.flatMap((row) => (row.latencyMs === null ? [] : [row.latencyMs]));
  return { ...expectedSums(rows, credits), latencyP50Ms: nearestRank(latencies, 0.5), latencyP95Ms: nearestRank(latencies, 0.95) };
}

export function groupRows<Key>(rows: LedgerFixture[], keyOf: (row: LedgerFixture) => Key): Map<string, LedgerFixture[]> {
  const groups = new Map<string, LedgerFixture[]>();
  for (const row of rows) {
    const key = JSON.stringify(keyOf(row));
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  return groups;
}

export const utcDay = (date: Date) => date.toISOString().slice(0, 10);
