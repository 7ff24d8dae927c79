// A user's usage over a scope: totals plus groups along any combination of
// dimensions, in one pass over the ledger (GROUPING SETS: the empty set is
// the totals row, present even when no row matches). Latency percentiles
// are nearest-rank (percentile_disc) over calls that recorded a latency.
import { empty, join, raw, sql, type Sql } from "../db/sql.ts";
import type { Db } from "../db.ts";
import { ledgerAmountsSql, toAmounts, type AmountsRow, type UsageAmounts } from "./measures.ts";
import { pricingJoin, pricingStatement, type Pricing, type PricingStatement } from "./pricingSql.ts";
import { scopeRange, scopeWhere, type UsageScope } from "./scope.ts";
import type { TimeRange } from "./range.ts";

export const USAGE_DIMENSIONS = ["MODEL_ALIAS", "DAY", "ROOM", "AGENT", "MODE", "STEP_KIND"] as const;
export type UsageDimension = (typeof USAGE_DIMENSIONS)[number];

/** Fixed SQL per dimension; only these fragments are ever interpolated. */
const DIMENSION_SQL: Record<UsageDimension, { key: keyof UsageGroupKey; expression: string }> = {
  MODEL_ALIAS: { key: "modelAlias", expression: "e.model_alias" },
  DAY: { key: "day", expression: "to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')" },
  ROOM: { key: "roomId", expression: "e.room_id::text" },
  AGENT: { key: "agentId", expression: "e.agent_id" },
  MODE: { key: "mode", expression: "e.turn_mode" },
  STEP_KIND: { key: "stepKind", expression: "e.call_kind" },
};

export interface UsageGroupKey {
  modelAlias: string | null;
  /** UTC day, YYYY-MM-DD. */
  day: string | null;
  roomId: string | null;
  agentId: string | null;
  mode: string | null;
  stepKind: string | null;
}

export interface UsageTotals extends UsageAmounts {
  latencyP50Ms: number;
  latencyP95Ms: number;
}

export interface UsageGroup extends UsageTotals {
  key: UsageGroupKey;
}

export interface UsageReport extends PricingStatement {
  range: TimeRange | null;
  groupBy: UsageDimension[];
  totals: UsageTotals;
  groups: UsageGroup[];
}

interface ReportRow extends AmountsRow {
  is_total: boolean;
  p50: number | null;
  p95: number | null;
  versions: string[] | null;
  [dimension: `k_${string}`]: string | null;
}

export function usageReportSql(scope: UsageScope, groupBy: readonly UsageDimension[], pricing: Pricing): Sql {
  const dimensions = [...new Set(groupBy)].map((dimension) => DIMENSION_SQL[dimension]);
  const keyColumns = dimensions.map((d) => raw(`${d.expression} AS "k_${d.key}"`));
  const keyExpressions = dimensions.map((d) => raw(d.expression));
  const grouping = dimensions.length === 0 ? sql`GROUP BY ()` : sql`GROUP BY GROUPING SETS ((), (${join(keyExpressions)}))`;
  const isTotal = dimensions.length === 0 ? sql`true` : sql`GROUPING(${join(keyExpressions)}) <> 0`;
  return sql`
    SELECT ${isTotal} AS is_total, ${keyColumns.length ? sql`${join(keyColumns)},` : empty}
      ${ledgerAmountsSql(pricing)},
      percentile_disc(0.5) WITHIN GROUP (ORDER BY e.latency_ms) AS p50,
      percentile_disc(0.95) WITHIN GROUP (ORDER BY e.latency_ms) AS p95,
      array_agg(DISTINCT e.pricing_version) FILTER (WHERE e.pricing_version IS NOT NULL) AS versions
    FROM llm_call_events e ${pricingJoin(pricing)}
    WHERE ${scopeWhere(scope)}
    ${grouping}
    ORDER BY 1 DESC${keyExpressions.length ? sql`, ${join(keyExpressions.map((k) => sql`${k} NULLS LAST`))}` : empty}`;
}

function toTotals(row: ReportRow): UsageTotals {
  return { ...toAmounts(row), latencyP50Ms: row.p50 ?? 0, latencyP95Ms: row.p95 ?? 0 };
}

function toKey(row: ReportRow): UsageGroupKey {
  return {
    modelAlias: row.k_modelAlias ?? null,
    day: row.k_day ?? null,
    roomId: row.k_roomId ?? null,
    agentId: row.k_agentId ?? null,
    mode: row.k_mode ?? null,
    stepKind: row.k_stepKind ?? null,
  };
}

export async function usageReport(db: Db, scope: UsageScope, groupBy: readonly UsageDimension[], pricing: Pricing): Promise<UsageReport> {
  const rows = await db.$queryRaw<ReportRow[]>(usageReportSql(scope, groupBy, pricing));
  const totalRow = rows.find((row) => row.is_total)!;
  return {
    range: scopeRange(scope),
    groupBy: [...new Set(groupBy)],
    ...pricingStatement(pricing, totalRow.versions ?? []),
    totals: toTotals(totalRow),
    groups: rows.filter((row) => !row.is_total).map((row) => ({ ...toTotals(row), key: toKey(row) })),
  };
}
