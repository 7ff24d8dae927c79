// The SQL of accepting a message, in as few round trips as its rules allow
// (it runs on every send): after the per-user lock, one statement reads the
// rate-limit windows, the locked session with its roster, any running turn
// and the history the turn will start from; one statement writes the turn
// (with its first step when the first agent is already known).
import { createHash, randomUUID } from "node:crypto";
import { raw, sql, type Sql, empty, join } from "../db/sql.ts";
import type { HistoryMessage } from "../context-budget/assembly.ts";
import type { RosterEntry } from "./roster.ts";
import { rateWindowsSql, type WindowUsage } from "./rateLimit.ts";
import { ROSTER_COLUMNS, SCOPE_COLUMNS, sessionSelect, type SessionScopeRow } from "./sessionScopeSql.ts";
import { stepInsertCte, type StepInsert, type TurnOwner } from "./stepSql.ts";
import { KEPT_STRIDE } from "./events.ts";
import { leaseFromNow } from "./leaseSql.ts";
import { CREDIT_ENFORCEMENT_OVERRIDE_SQL } from "../credits/enforcement.ts";
import type { HoldRow } from "../credits/callHolds.ts";

/**
 * The per-user lock that makes the rate-limit count, the credit hold and the
 * insert atomic across requests and instances (transaction-scoped:
 * pgbouncer-safe). Taken as the accepting transaction's first statement; the
 * read follows as its own statement, which takes a fresh snapshot: it sees
 * every turn committed before the lock was granted.
 */
export function userLock(userId: string): Sql {
  const key = createHash("sha256").update(`turn-rate:${userId}`).digest().readBigInt64BE(0).toString();
  return sql`SELECT pg_advisory_xact_lock(${key}::bigint)`;
}

/**
 * The rate-limit windows count the user's turns and metered routing previews
 * alike. A running turn whose lease has lapsed is stale: its owner is gone,
 * and this accept ends it. Unlocked, the same read is what an estimate of the
 * turn starts from.
 */
export function acceptRead(userId: string, sessionId: string, lock = true): Sql {
  return sql`
  WITH usage AS (${rateWindowsSql(userId)}),
  -- Concurrent sends in one session serialize on this row lock.
  session AS (${sessionSelect(userId, sessionId, lock)}),
  latest_summary AS (
    SELECT through_turn_seq, summary_text, key_facts, open_questions, decisions, action_items
      FROM session_summaries WHERE session_id = (SELECT id FROM session) ORDER BY created_at DESC, through_turn_seq DESC LIMIT 1)
  SELECT u.minute_count, u.minute_retry, u.hour_count, u.hour_retry, u.suspended,
         ${SCOPE_COLUMNS}, ${ROSTER_COLUMNS},
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
    FROM usage u LEFT JOIN session s ON true`;
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

export interface AcceptReadRow extends WindowUsage, SessionScopeRow {
  summary: StoredSummaryRow | null;
  history: HistoryMessageJson[] | null;
  running_turn: { id: string; stale: boolean } | null;
  /** An owner's runtime override of CREDIT_ENFORCEMENT, if any. */
  credit_enforcement: string | null;
}

/** The turn's first kept events, written with it: TurnStarted, and the first StepStarted when its agent is known. */
function acceptedEventsCte(turn: TurnInsert, firstStep: StepInsert | null): Sql {
  const at = turn.acceptedAt.toISOString();
  const started = JSON.stringify({ mode: turn.mode, roster: turn.roster });
  const stepStarted = firstStep
    ? sql`, (${turn.id}::uuid, ${2 * KEPT_STRIDE}, 'StepStarted', ${JSON.stringify({ stepId: firstStep.id, stepSeq: 1, kind: firstStep.kind, agentKey: firstStep.agentKey, modelAlias: firstStep.modelAlias })}::jsonb, ${at}::timestamptz)`
    : empty;
  return sql`accepted_events AS (
    INSERT INTO turn_events (turn_id, sequence, type, payload, created_at)
    VALUES (${turn.id}::uuid, ${KEPT_STRIDE}, 'TurnStarted', ${started}::jsonb, ${at}::timestamptz)${stepStarted})`;
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
}

/**
 * The turn, the user's message, the promoted mode and, when the first agent is
 * known at accept, that agent's running step: one statement.
 */
export function insertTurnStatement(turn: TurnInsert, firstStep: StepInsert | null, hold: Sql | null = null): Sql {
  const ctes = [
    sql`promoted AS (
      UPDATE rooms SET current_mode = pending_mode, pending_mode = NULL, updated_at = now()
       WHERE id = ${turn.promotedRoomId}::uuid AND pending_mode IS NOT NULL RETURNING id)`,
    sql`turn AS (
      INSERT INTO turns (id, session_id, user_id, seq, mode, roster_snapshot, user_content, updated_at, owner_instance, lease_expires_at)
      VALUES (${turn.id}::uuid, ${turn.sessionId}::uuid, ${turn.userId}::uuid,
              (SELECT coalesce(max(seq), 0) + 1 FROM turns WHERE session_id = ${turn.sessionId}::uuid),
              ${turn.mode}::turn_mode, ${JSON.stringify(turn.roster)}::jsonb, ${turn.content}, now(),
              ${turn.owner.instanceId}, ${leaseFromNow(turn.owner.leaseMs)})
      RETURNING seq, started_at, created_at, updated_at, lease_expires_at)`,
    sql`message AS (
      INSERT INTO messages (id, session_id, turn_id, role, content)
      SELECT ${randomUUID()}::uuid, ${turn.sessionId}::uuid, ${turn.id}::uuid, 'user', ${turn.content} FROM turn)`,
    // Sessions lists are ordered by last activity; an untitled session takes its first message's first line.
    sql`active_session AS (
      UPDATE sessions SET last_activity_at = now(), title = coalesce(title, ${titleFromMessage(turn.content)}), updated_at = now()
       WHERE id = ${turn.sessionId}::uuid)`,
  ];
  if (firstStep) ctes.push(stepInsertCte(firstStep));
  ctes.push(acceptedEventsCte(turn, firstStep));
  // The first call's hold (credits/callFunding.ts), placed with the turn; its outcome comes back with the turn's row.
  if (hold) ctes.push(sql`first_hold AS (${hold})`);
  const holdColumn = hold ? sql`(SELECT row_to_json(h) FROM first_hold h)` : sql`NULL::json`;
  return sql`WITH ${join(ctes, ", ")} SELECT seq, started_at, created_at, updated_at, lease_expires_at, ${holdColumn} AS hold FROM turn`;
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
  seq: number;
  started_at: Date;
  created_at: Date;
  updated_at: Date;
  lease_expires_at: Date;
  /** The first call's hold, when the statement placed one. */
  hold: HoldRow | null;
}
