// A page of the viewer's own ledger rows, newest first, by keyset on
// (created_at, id). Cursors carry created_at at full microsecond precision
// (JavaScript dates would truncate it and skip or repeat rows).
import { join, sql, type Sql } from "../db/sql.ts";
import type { Db } from "../db.ts";
import { ValidationError } from "../errors.ts";
import { viewerRowsWhere, type UsageFilter } from "./scope.ts";
import type { TimeRange } from "./range.ts";

export const LEDGER_PAGE = { defaultSize: 50, maxSize: 100 } as const;

export interface LedgerRow {
  id: string;
  user_id: string;
  created_at: Date;
  cursor_at: string;
  provider: string;
  model_alias: string;
  provider_model: string;
  status: string;
  call_kind: string | null;
  turn_mode: string | null;
  room_id: string | null;
  session_id: string | null;
  turn_id: string | null;
  step_id: string | null;
  agent_id: string | null;
  input_tokens_fresh: number;
  input_tokens_cached: number;
  output_tokens: number;
  total_tokens: number;
  oe_tokens: string;
  credits: string;
  cost: string;
  latency_ms: number | null;
  pricing_version: string;
  bound_input_tokens: number | null;
  bound_output_tokens: number | null;
  exceeds_bound: boolean;
  hold_credits: string | null;
}

export interface LedgerPageRequest {
  /** Which rows (of llm_call_events e): viewerLedgerRows or ROWS_ABOVE_BOUND. */
  rows: Sql;
  first: number;
  after: string | null;
}

/** The viewer's own rows, narrowed by range and filter. */
export function viewerLedgerRows(userId: string, range: Partial<TimeRange>, filter: UsageFilter): Sql {
  return viewerRowsWhere(userId, range, filter);
}

/** Rows whose provider report exceeded the call's bound (SPEC 14), every user's: for owners and analysts. */
export const ROWS_ABOVE_BOUND = sql`e.exceeds_bound`;

interface Position {
  at: string;
  id: string;
}

const CURSOR = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{6}Z)\|([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** A date of the cursor's shape that names no real instant (month 13, hour 25, February 30th …). */
function isRealInstant(secondsPart: string): boolean {
  const parsed = new Date(`${secondsPart}Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(secondsPart);
}

export function encodeLedgerCursor(row: Pick<LedgerRow, "cursor_at" | "id">): string {
  return Buffer.from(`${row.cursor_at}|${row.id}`).toString("base64url");
}

function decodeCursor(cursor: string): Position {
  const match = CURSOR.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  if (!match || !isRealInstant(match[1]!)) throw new ValidationError([{ path: ["after"], message: "Not a cursor of this connection." }]);
  return { at: `${match[1]}${match[2]}`, id: match[3]! };
}

export function ledgerPageSql(request: LedgerPageRequest): Sql {
  const conditions = [request.rows];
  if (request.after) {
    const position = decodeCursor(request.after);
    conditions.push(sql`(e.created_at, e.id) < (${position.at}::timestamptz, ${position.id}::uuid)`);
  }
  return sql`
    SELECT e.id::text AS id, e.user_id::text AS user_id, e.created_at, to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at,
           e.provider, e.model_alias, e.provider_model, e.status, e.call_kind, e.turn_mode,
           e.room_id::text AS room_id, coalesce(e.session_id::text, e.direct_session_id) AS session_id,
           e.turn_id::text AS turn_id, e.step_id::text AS step_id, e.agent_id,
           e.input_tokens_fresh, e.input_tokens_cached, e.output_tokens, e.total_tokens,
           e.oe_tokens_computed::text AS oe_tokens, e.credits_burned::text AS credits, e.provider_cost_usd::text AS cost,
           e.latency_ms, e.pricing_version, e.bound_input_tokens, e.bound_output_tokens, e.exceeds_bound, e.hold_credits::text AS hold_credits
      FROM llm_call_events e
     WHERE ${join(conditions, " AND ")}
     ORDER BY e.created_at DESC, e.id DESC
     LIMIT ${request.first + 1}`;
}

export async function ledgerPage(db: Db, request: LedgerPageRequest): Promise<{ rows: LedgerRow[]; hasNextPage: boolean }> {
  const rows = await db.$queryRaw<LedgerRow[]>(ledgerPageSql(request));
  return { rows: rows.slice(0, request.first), hasNextPage: rows.length > request.first };
}
