// The SQL of accepting a message, in as few round trips as its rules allow
// (it runs on every send): one statement reads the session with its roster,
// any running turn and the history the turn will start from; one statement
// writes the turn, after passing the per-user gate
// (the lock, then the rate-limit windows, sql/turn_accept_gate.sql), with
// its first step when the first agent is already known and the first call's
// hold. No transaction spans the two: what the read decided is checked again
// by the write, under its locks.
import { createHash, randomUUID } from "node:crypto";
import { raw, sql, type Sql, empty, join } from "../db/sql.ts";
import type { HistoryMessage } from "../context-budget/assembly.ts";
import type { RosterEntry } from "./roster.ts";
import type { WindowUsage } from "./rateLimit.ts";
import { ROSTER_COLUMNS, SCOPE_COLUMNS, sessionSelect, type SessionScopeRow } from "./sessionScopeSql.ts";
import { stepInsertCte, type StepInsert, type TurnOwner } from "./stepSql.ts";
import { keptAtAccept } from "./events.ts";
import { leaseFromNow } from "./leaseSql.ts";
import { CREDIT_ENFORCEMENT_OVERRIDE_SQL } from "../credits/enforcement.ts";
import type { HoldRow } from "../credits/callHolds.ts";

/**
 * The per-user gate: the lock that makes the rate-limit count, the credit
 * hold and the insert atomic across requests and instances
 * (transaction-scoped: pgbouncer-safe), then the windows counted after it
 * was granted. One row; `allowed` false when the account is suspended or a
 * window is full.
 */
export function userGate(userId: string, limits: { turnsPerMinute: number; turnsPerHour: number }): Sql {
  const key = createHash("sha256").update(`turn-rate:${userId}`).digest().readBigInt64BE(0).toString();
  return sql`SELECT allowed, minute_count, minute_retry, hour_count, hour_retry, suspended
               FROM turn_accept_gate(${userId}::uuid, ${key}::bigint, ${limits.turnsPerMinute}::int, ${limits.turnsPerHour}::int)`;
}

export interface GateRow extends WindowUsage {
  allowed: boolean;
}

/**
 * The session with its roster, any running turn and the history the turn
 * will start from; one row even when the session is not the user's. A
 * running turn whose lease has lapsed is stale: its owner is gone, and this
 * accept ends it. The rate-limit windows are not read here: the gate in the
 * turn's insert counts them, once, under the lock. An estimate of the turn
 * starts from the same read.
 */
export function acceptRead(userId: string, sessionId: string): Sql {
  return sql`
  WITH session AS (${sessionSelect(userId, sessionId)}),
  latest_summary AS (
    SELECT through_turn_seq, summary_text, key_facts, open_questions, decisions, action_items
      FROM session_summaries WHERE session_id = (SELECT id FROM session) ORDER BY created_at DESC, through_turn_seq DESC LIMIT 1)
  SELECT ${SCOPE_COLUMNS}, ${ROSTER_COLUMNS},
         (SELECT row_to_json(l) FROM latest_summary l) AS summary,
         -- Shared messages of finished turns after the summary (a stale running turn is ended by this accept);
         -- found through the turns after the summary, so the cost does not grow with the session. The lateral
         -- read (OFFSET 0: never flattened into a join) fixes that order: without fresh statistics the planner
         -- otherwise may scan every message in the database on each send.
         (SELECT coalesce(json_agg(json_build_object('id', m.id, 'role', m.role, 'agentKey', m.agent_key, 'content', m.content, 'seq', t.seq)
                   ORDER BY m.created_at, m.id), '[]')
            FROM turns t
            CROSS JOIN LATERAL (SELECT m.id, m.role, m.agent_key, m.content, m.created_at FROM messages m
                                 WHERE m.turn_id = t.id AND m.visibility = 'shared' AND m.role IN ('user', 'agent', 'synthesis') OFFSET 0) m
           WHERE t.session_id = s.id AND t.seq > coalesce((SELECT through_turn_seq FROM latest_summary), 0)
             AND (t.status <> 'running' OR t.lease_expires_at < now())) AS history,
         (SELECT json_build_object('id', t.id, 'stale', t.lease_expires_at < now())
            FROM turns t WHERE t.session_id = s.id AND t.status = 'running' LIMIT 1) AS running_turn,
         ${raw(CREDIT_ENFORCEMENT_OVERRIDE_SQL)} AS credit_enforcement
    FROM (VALUES (1)) AS one LEFT JOIN session s ON true`;
}

export interface StoredSummaryRow {
  through_turn_seq: number;
  summary_text: string;
  key_facts: unknown;
  open_questions: unknown;
  decisions: unknown;
  action_items: unknown;
}

export interface HistoryMessageJson extends HistoryMessage {
  seq: number;
}

export interface AcceptReadRow extends SessionScopeRow {
  summary: StoredSummaryRow | null;
  history: HistoryMessageJson[] | null;
  running_turn: { id: string; stale: boolean } | null;
  /** An owner's runtime override of CREDIT_ENFORCEMENT, if any. */
  credit_enforcement: string | null;
}

/** The turn's first kept events, written with it: TurnStarted, and the first StepStarted when its agent is known. */
function acceptedEventsCte(turn: TurnInsert, firstStep: StepInsert | null): Sql {
  const at = turn.acceptedAt.toISOString();
  const events = keptAtAccept(turn.mode, turn.roster, firstStep && { stepId: firstStep.id, agentKey: firstStep.agentKey, modelAlias: firstStep.modelAlias });
  const rows = events.map(({ sequence, payload: { type, ...fields } }) => sql`(${turn.id}::uuid, ${sequence}::int, ${type}::text, ${JSON.stringify(fields)}::jsonb, ${at}::timestamptz)`);
  return sql`accepted_events AS (
    INSERT INTO turn_events (turn_id, sequence, type, payload, created_at)
    SELECT e.* FROM turn, (VALUES ${join(rows, ", ")}) e)`;
}

export interface TurnInsert {
  id: string;
  sessionId: string;
  userId: string;
  mode: string;
  roster: RosterEntry[];
  content: string;
  /** The room whose pending mode this turn promotes, if any. */
  promotedRoomId: string | null;
  owner: TurnOwner;
  acceptedAt: Date;
  /** The user's gate (userGate): the insert happens only when it allows. */
  gate: Sql;
}

/** SQLSTATE of a send refused because its first call could not be held (sql/turn_refuse_unheld.sql). */
export const FIRST_CALL_UNHELD = "PA001";

/**
 * One statement, its writes in a chain, each only when the one before
 * happened: the user's gate (lock, then the rate-limit windows); the
 * session, still live, locked against a concurrent delete or send; the turn;
 * the user's message, the session's activity, the promoted mode, the first
 * agent's step when it is known at accept, the first kept events; and the
 * first call's hold, after the turn since its credit transaction names it.
 * A refusal by the gate or a session gone writes nothing; its one row says
 * which (`gate`, `session_live`), and holds the turn's columns when it was
 * inserted. A hold refused fails the whole statement (FIRST_CALL_UNHELD,
 * the hold's outcome as its detail), which undoes the turn.
 */
export function insertTurnStatement(turn: TurnInsert, firstStep: StepInsert | null, hold: Sql | null = null): Sql {
  const ctes = [
    sql`gate AS (${turn.gate})`,
    // FOR UPDATE re-reads the newest version after waiting: a session deleted meanwhile is not found.
    sql`live_session AS (
      SELECT id FROM sessions WHERE id = ${turn.sessionId}::uuid AND deleted_at IS NULL AND (SELECT allowed FROM gate) FOR UPDATE)`,
    sql`turn AS (
      INSERT INTO turns (id, session_id, user_id, seq, mode, roster_snapshot, user_content, updated_at, owner_instance, lease_expires_at)
      SELECT ${turn.id}::uuid, s.id, ${turn.userId}::uuid,
             (SELECT coalesce(max(seq), 0) + 1 FROM turns WHERE session_id = ${turn.sessionId}::uuid),
             ${turn.mode}::turn_mode, ${JSON.stringify(turn.roster)}::jsonb, ${turn.content}, now(),
             ${turn.owner.instanceId}, ${leaseFromNow(turn.owner.leaseMs)}
        FROM live_session s
      RETURNING seq, started_at, created_at, updated_at, lease_expires_at)`,
    sql`message AS (
      INSERT INTO messages (id, session_id, turn_id, role, content)
      SELECT ${randomUUID()}::uuid, ${turn.sessionId}::uuid, ${turn.id}::uuid, 'user', ${turn.content} FROM turn)`,
    // Sessions lists are ordered by last activity; an untitled session takes its first message's first line.
    sql`active_session AS (
      UPDATE sessions SET last_activity_at = now(), title = coalesce(title, ${titleFromMessage(turn.content)}), updated_at = now()
       WHERE id = ${turn.sessionId}::uuid AND EXISTS (SELECT 1 FROM turn))`,
    sql`promoted AS (
      UPDATE rooms SET current_mode = pending_mode, pending_mode = NULL, updated_at = now()
       WHERE id = ${turn.promotedRoomId}::uuid AND pending_mode IS NOT NULL AND EXISTS (SELECT 1 FROM turn))`,
  ];
  if (firstStep) ctes.push(stepInsertCte(firstStep, "turn"));
  ctes.push(acceptedEventsCte(turn, firstStep));
  if (hold) {
    // The first call's hold (credits/callFunding.ts): a lateral subquery on the inserted turn (OFFSET 0: never flattened), so it runs only after it.
    ctes.push(sql`first_hold AS (SELECT h.* FROM turn t, LATERAL (SELECT * FROM (${hold}) placed WHERE t.seq IS NOT NULL OFFSET 0) h)`);
    ctes.push(sql`unheld AS (SELECT turn_refuse_unheld(row_to_json(h)) FROM first_hold h WHERE NOT h.placed)`);
  }
  const holdColumn = hold ? sql`(SELECT row_to_json(h) FROM first_hold h)` : sql`NULL::json`;
  // A CTE that modifies nothing runs only when read: selecting from `unheld` is what makes a refused hold fail the statement.
  const refusal = hold ? sql`, (SELECT count(*) FROM unheld) AS refusal_checked` : empty;
  return sql`WITH ${join(ctes, ", ")}
    SELECT (SELECT row_to_json(g) FROM gate g) AS gate, EXISTS (SELECT 1 FROM live_session) AS session_live, ${holdColumn} AS hold${refusal},
           t.seq, t.started_at, t.created_at, t.updated_at, t.lease_expires_at
      FROM (VALUES (1)) AS one LEFT JOIN turn t ON true`;
}

const TITLE_FROM_MESSAGE_CHARS = 80;

/** The message's first non-empty line, cut at a word near the limit. */
export function titleFromMessage(content: string): string {
  const line = content.split("\n").map((part) => part.trim()).find((part) => part !== "") ?? content.trim();
  if (line.length <= TITLE_FROM_MESSAGE_CHARS) return line;
  const cut = line.slice(0, TITLE_FROM_MESSAGE_CHARS - 1);
  const space = cut.lastIndexOf(" ");
  return `${space > TITLE_FROM_MESSAGE_CHARS / 2 ? cut.slice(0, space) : cut}…`;
}

export interface InsertedTurn {
  gate: GateRow;
  session_live: boolean;
  /** The first call's hold, when the statement placed one. */
  hold: HoldRow | null;
  /** The turn's columns; null when a link of the chain refused. */
  seq: number | null;
  started_at: Date | null;
  created_at: Date | null;
  updated_at: Date | null;
  lease_expires_at: Date | null;
}
