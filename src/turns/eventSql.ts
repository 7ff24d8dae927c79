// Kept turn events in the database: written in the statement that makes them
// true (a step's start, its result, the turn's end), read by subscribers.
import { type Sql, empty, raw, sql } from "../db/sql.ts";
import type { TurnEvent, TurnEventPayload } from "./events.ts";
import { KEPT_STRIDE } from "./events.ts";

export type KeptPayload = Exclude<TurnEventPayload, { type: "StepDelta" }>;

/**
 * The kept event as a CTE of the statement it belongs to, written only when
 * `onlyIf` (a CTE of the same statement) has a row: the event is true only if
 * the write it describes happened. Idempotent, as the statements are. `name`
 * tells two kept events of one statement apart (a step's result and the next
 * step's start). `sqlFields`, a jsonb expression of the same statement, adds
 * fields only the statement knows (the balance a turn's end leaves).
 */
export function keptEventCte(turnId: string, sequence: number, payload: KeptPayload, at: Date, onlyIf?: string, name = "kept_event", sqlFields?: Sql): Sql {
  const { type, ...fields } = payload;
  const guard = onlyIf ? sql`FROM ${raw(onlyIf)} LIMIT 1` : empty;
  const stored = sqlFields ? sql`${JSON.stringify(fields)}::jsonb || ${sqlFields}` : sql`${JSON.stringify(fields)}::jsonb`;
  return sql`${raw(name)} AS (
    INSERT INTO turn_events (turn_id, sequence, type, payload, created_at)
    SELECT ${turnId}::uuid, ${sequence}, ${type}, ${stored}, ${at.toISOString()}::timestamptz ${guard}
    ON CONFLICT (turn_id, sequence) DO NOTHING RETURNING sequence)`;
}

/** Selected by a statement with a kept event: whether it was written (false: the turn was ended elsewhere). */
export const KEPT_WRITTEN = sql`(SELECT count(*) FROM kept_event)::int AS kept`;

/** The number an ending gets when written by SQL alone: the next kept number after the turn's last. */
export const NEXT_KEPT_SEQUENCE = (turnColumn: Sql) =>
  sql`(coalesce((SELECT max(sequence) FROM turn_events WHERE turn_id = ${turnColumn}), 0) / ${KEPT_STRIDE} + 1) * ${KEPT_STRIDE}`;

/** A turn's usage summed from its ledger rows, as the events carry it. */
export const TURN_USAGE_JSON = (turnColumn: Sql) => sql`(
  SELECT jsonb_build_object(
    'calls', count(*), 'inputTokensFresh', coalesce(sum(input_tokens_fresh), 0), 'inputTokensCached', coalesce(sum(input_tokens_cached), 0),
    'outputTokens', coalesce(sum(output_tokens), 0), 'totalTokens', coalesce(sum(total_tokens), 0),
    'credits', coalesce(sum(credits_burned), 0)::numeric(20,4)::text, 'providerCostUsd', coalesce(sum(provider_cost_usd), 0)::numeric(20,8)::text)
  FROM llm_call_events WHERE turn_id = ${turnColumn})`;

interface StoredEventRow {
  sequence: number;
  type: TurnEvent["type"];
  payload: Record<string, unknown>;
  created_at: Date;
}

export function storedEvent(turnId: string, row: StoredEventRow): TurnEvent {
  return { ...row.payload, type: row.type, turnId, sequence: row.sequence, at: row.created_at } as TurnEvent;
}

export type { StoredEventRow };
