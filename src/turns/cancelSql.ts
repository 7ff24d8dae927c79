// cancelTurn in the database (SPEC 16): the request is written on the turn,
// so it holds whichever instance runs it and whether or not the live channel
// carries it; no step starts after it (stepSql.ts startStepStatement).
import { sql, type Sql } from "../db/sql.ts";

export interface CancelRequestRow {
  id: string;
  status: string;
  owner_instance: string | null;
  /** 1 when the turn was running and is now asked to stop (also when an earlier cancelTurn already asked). */
  requested: number;
}

/** Asks the user's running turn to stop; no row when the turn is not the user's (or its session was deleted). */
export function requestCancel(userId: string, turnId: string): Sql {
  return sql`
    WITH target AS (
      SELECT t.id, t.status, t.owner_instance FROM turns t JOIN sessions s ON s.id = t.session_id AND s.deleted_at IS NULL
       WHERE t.id = ${turnId}::uuid AND t.user_id = ${userId}::uuid
       FOR UPDATE OF t),
    requested AS (
      UPDATE turns SET cancel_requested_at = coalesce(cancel_requested_at, now()), updated_at = now()
       WHERE id IN (SELECT id FROM target WHERE status = 'running') RETURNING id)
    SELECT target.id, target.status::text AS status, target.owner_instance, (SELECT count(*) FROM requested)::int AS requested FROM target`;
}

/** Of these turns (run here), the ones whose owner asked to cancel them. */
export function cancelRequestedAmong(turnIds: string[]): Sql {
  return sql`SELECT id FROM turns WHERE id = ANY(${turnIds}::uuid[]) AND status = 'running' AND cancel_requested_at IS NOT NULL`;
}
