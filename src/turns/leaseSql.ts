// Turn leases (SPEC 11): every running turn names its owner instance and
// holds a lease the owner renews while it runs. A running turn whose lease
// has lapsed has no live owner; whichever instance notices first ends it,
// with the statements here. Each re-checks status and lease under the row
// lock, so two instances ending the same turn at once end it once.
import { type Sql, sql } from "../db/sql.ts";
import { NEXT_KEPT_SEQUENCE, TURN_USAGE_JSON } from "./eventSql.ts";

export const INTERRUPTED_LEASE_ERROR = "Interrupted: the server running this turn stopped or lost the database before the turn finished.";
export const INTERRUPTED_DATABASE_ERROR = "Interrupted: the database became unavailable while this turn ran.";
export const INTERRUPTED_STEP_ERROR = "Interrupted before this step finished.";
export const INTERRUPTED_SHUTDOWN_ERROR = "Interrupted: the server running this turn was shut down (a deploy) before the turn finished; send the message again.";

/** A turn ended by an interruption is PARTIAL when some step completed, FAILED otherwise. */
const INTERRUPTED_STATUS = sql`CASE WHEN EXISTS (SELECT 1 FROM turn_steps s WHERE s.turn_id = t.id AND s.status = 'completed')
  THEN 'partial'::turn_status ELSE 'failed'::turn_status END`;

/** A turn ended by these statements, with its ending as kept in turn_events (to publish as it is). */
export interface EndedTurn {
  id: string;
  status: "completed" | "partial" | "failed";
  error: string | null;
  stop_reason: "interrupted" | "error";
  sequence: number;
  type: "TurnCompleted" | "TurnFailed";
  payload: Record<string, unknown>;
  created_at: Date;
}

/**
 * Ends the running turns `which` selects, and their running steps, as
 * interrupted, and keeps each one's ending event, numbered past any delta a
 * client may have seen (events.ts).
 */
function endInterrupted(which: Sql, error: string, stopReason: EndedTurn["stop_reason"] = "interrupted"): Sql {
  return sql`
    WITH ended AS (
      UPDATE turns t SET status = ${INTERRUPTED_STATUS}, error = ${error}, stop_reason = ${stopReason}::turn_stop_reason, completed_at = now(), updated_at = now()
       WHERE t.status = 'running' AND ${which}
      RETURNING t.id, t.status, t.error, t.stop_reason, t.completed_at),
    interrupted_steps AS (
      UPDATE turn_steps SET status = 'failed', error = ${INTERRUPTED_STEP_ERROR}, completed_at = now(), updated_at = now()
       WHERE turn_id IN (SELECT id FROM ended) AND status = 'running' RETURNING id),
    ending AS (
      INSERT INTO turn_events (turn_id, sequence, type, payload, created_at)
      SELECT e.id, ${NEXT_KEPT_SEQUENCE(sql`e.id`)},
             CASE WHEN e.status = 'failed' THEN 'TurnFailed' ELSE 'TurnCompleted' END,
             jsonb_build_object('status', e.status, 'error', e.error, 'stopReason', e.stop_reason, 'usage', ${TURN_USAGE_JSON(sql`e.id`)}),
             e.completed_at
        FROM ended e
      ON CONFLICT (turn_id, sequence) DO NOTHING
      RETURNING turn_id, sequence, type, payload, created_at)
    SELECT e.id, e.status::text AS status, e.error, e.stop_reason::text AS stop_reason, k.sequence, k.type, k.payload, k.created_at
      FROM ended e JOIN ending k ON k.turn_id = e.id`;
}

/** Every running turn whose lease has lapsed (the periodic sweep). */
export const endLapsedTurns = () => endInterrupted(sql`t.lease_expires_at < now()`, INTERRUPTED_LEASE_ERROR);

/** This turn, if its lease has lapsed (a read, a subscription). */
export const endLapsedTurn = (turnId: string) => endInterrupted(sql`t.id = ${turnId}::uuid AND t.lease_expires_at < now()`, INTERRUPTED_LEASE_ERROR);

/**
 * Every running turn, lease or not: only for a database no other instance can
 * use (the embedded one, single-session by construction), at start.
 */
export const endAllRunningTurns = () => endInterrupted(sql`true`, INTERRUPTED_LEASE_ERROR);

/** The owner ends its own turn after an error stopped it (status from its finished steps). */
export const endOwnTurnInterrupted = (turnId: string, instanceId: string, error: string, stopReason: EndedTurn["stop_reason"]) =>
  endInterrupted(sql`t.id = ${turnId}::uuid AND t.owner_instance = ${instanceId}`, error, stopReason);

/** The owner ends its running turns at shutdown, past the deadline. */
export const endOwnTurnsInterrupted = (turnIds: string[], instanceId: string, error: string) =>
  endInterrupted(sql`t.id = ANY(${turnIds}::uuid[]) AND t.owner_instance = ${instanceId}`, error);

/** Renews the owner's leases; returns the turns still running under this owner (the others were ended elsewhere), and whether their owner asked to cancel them. */
export function renewLeases(turnIds: string[], instanceId: string, leaseMs: number): Sql {
  return sql`
    UPDATE turns SET lease_expires_at = now() + ${leaseMs} * interval '1 millisecond'
     WHERE id = ANY(${turnIds}::uuid[]) AND status = 'running' AND owner_instance = ${instanceId}
    RETURNING id, cancel_requested_at IS NOT NULL AS cancel_requested`;
}

/** The lease as set at accept and renewed at each step start: a CTE fragment's SET clause value. */
export function leaseFromNow(leaseMs: number): Sql {
  return sql`now() + ${leaseMs} * interval '1 millisecond'`;
}
