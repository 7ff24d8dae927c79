// Single-statement writes of the step lifecycle, as named CTEs that combine
// into one statement. One SQL statement is atomic: a step's result, its
// transcript message and its context audit commit together (with the ledger
// row of the call that produced them, which the ledger writer adds). Every
// write here is idempotent (fixed ids, ON CONFLICT DO NOTHING, updates
// guarded by status), so a write whose outcome was lost with its connection
// is simply sent again.
import { raw, sql, type Sql } from "../db/sql.ts";
import { statementOf } from "../db/cteStatement.ts";
import { randomUUID } from "node:crypto";
import type { StepKind } from "../generated/prisma/client.ts";
import type { ContextAudit } from "../context-budget/plan.ts";
import { leaseFromNow } from "./leaseSql.ts";
import { keptEventCte, type KeptPayload } from "./eventSql.ts";

/** The instance running a turn and the length of the lease it holds. */
export interface TurnOwner {
  instanceId: string;
  leaseMs: number;
}

export interface StepInsert {
  id: string;
  turnId: string;
  seq: number;
  kind: StepKind;
  agentId: string | null;
  agentKey: string | null;
  modelAlias: string;
  allowedTools: string[];
  /** The orchestrator round (1 for every other step). */
  round: number;
}

/** Inserts the running step, only when the statement's CTE `onlyIf` has a row (the turn inserted, or still owned). */
export function stepInsertCte(step: StepInsert, onlyIf: "turn" | "touched_turn"): Sql {
  return sql`started_step AS (
      INSERT INTO turn_steps (id, turn_id, seq, kind, agent_id, agent_key, model_alias, allowed_tools, round, updated_at)
      SELECT ${step.id}::uuid, ${step.turnId}::uuid, ${step.seq}, ${step.kind}::step_kind, ${step.agentId}::uuid, ${step.agentKey},
             ${step.modelAlias}::model_alias, ${step.allowedTools}::text[]::tool_permission[], ${step.round}, now()
        FROM ${raw(onlyIf)}
      ON CONFLICT (id) DO NOTHING RETURNING id)`;
}

/**
 * Starts a step only while the turn is still running under this owner and
 * its owner has not asked to cancel it, and renews the lease: the CTEs, and
 * the columns they answer with. `owned` 0 means the step must not run,
 * because another instance ended the turn (its lease had lapsed) or, with
 * `cancel_requested`, because the turn was cancelled (cancelTurn, on any
 * instance). They stand alone (startStepStatement) or ride on the statement
 * that records the previous step's result (steps.ts).
 */
export function startStepParts(step: StepInsert, owner: TurnOwner, startedEvent: Sql, hold: Sql | null = null): { ctes: Sql[]; columns: Sql } {
  const ctes = [
    sql`touched_turn AS (
      UPDATE turns SET updated_at = now(), lease_expires_at = ${leaseFromNow(owner.leaseMs)}
       WHERE id = ${step.turnId}::uuid AND status = 'running' AND owner_instance = ${owner.instanceId} AND cancel_requested_at IS NULL RETURNING id)`,
    stepInsertCte(step, "touched_turn"),
    startedEvent,
  ];
  // The hold of the step's first call (credits/callFunding.ts), only while the turn is this owner's: a lateral
  // subquery on touched_turn (OFFSET 0: never flattened into a join), so it runs only for a row of it.
  if (hold) ctes.push(sql`step_hold AS (SELECT h.* FROM touched_turn t, LATERAL (SELECT * FROM (${hold}) placed WHERE t.id IS NOT NULL OFFSET 0) h)`);
  const holdColumn = hold ? sql`(SELECT row_to_json(h) FROM step_hold h)` : sql`NULL::json`;
  const columns = sql`(SELECT count(*) FROM touched_turn)::int AS owned, ${holdColumn} AS hold,
    (SELECT cancel_requested_at IS NOT NULL FROM turns WHERE id = ${step.turnId}::uuid) AS cancel_requested`;
  return { ctes, columns };
}

/** A step's start as a statement of its own. */
export function startStepStatement(step: StepInsert, owner: TurnOwner, startedEvent: Sql, hold: Sql | null = null): Sql {
  const { ctes, columns } = startStepParts(step, owner, startedEvent, hold);
  return statementOf(ctes, columns);
}

/**
 * A kept event that belongs to no step (a round's start or end), written only
 * while the turn runs under this owner; renews the lease. Selects `kept`: 0
 * means another instance ended the turn.
 */
export function ownedTurnEvent(turnId: string, owner: TurnOwner, keptEvent: Sql): Sql {
  return sql`
    WITH owned_turn AS (
      UPDATE turns SET updated_at = now(), lease_expires_at = ${leaseFromNow(owner.leaseMs)}
       WHERE id = ${turnId}::uuid AND status = 'running' AND owner_instance = ${owner.instanceId} RETURNING id),
    ${keptEvent}
    SELECT (SELECT count(*) FROM kept_event)::int AS kept`;
}

/**
 * The owner ends its turn, and atomically any step an unexpected error left
 * running, and keeps its ending event. It releases what the turn's hold still
 * holds itself, rather than leaving it to the trigger (which then finds it
 * released), so that the ending event carries the balance the release left
 * (creditsAvailableAfter; without a hold, the last debit's). Returns the
 * turn's id and that balance, or no row when the turn was no longer running
 * under this owner (another instance ended it).
 */
export function endTurnStatement(
  turnId: string,
  ending: { status: string; error: string | null; stopReason: string },
  owner: TurnOwner,
  event: { sequence: number; payload: KeptPayload; at: Date },
): Sql {
  const balance = sql`jsonb_build_object('creditsAvailableAfter', (SELECT balance::text FROM ending_balance))`;
  return sql`
    WITH ended_turn AS (
      UPDATE turns SET status = ${ending.status}::turn_status, error = ${ending.error}, stop_reason = ${ending.stopReason}::turn_stop_reason,
                       completed_at = now(), updated_at = now()
       WHERE id = ${turnId}::uuid AND status = 'running' AND owner_instance = ${owner.instanceId} RETURNING id, user_id),
    leftover_steps AS (
      UPDATE turn_steps SET status = 'failed', error = 'The turn ended before this step finished.', completed_at = now(), updated_at = now()
       WHERE turn_id IN (SELECT id FROM ended_turn) AND status = 'running' RETURNING id),
    released AS (SELECT credit_release_hold(t.id, t.user_id, false) AS available FROM ended_turn t),
    ending_balance AS (
      SELECT coalesce((SELECT available FROM released), (${LAST_RECORDED_BALANCE(turnId)})) AS balance),
    ${keptEventCte(turnId, event.sequence, event.payload, event.at, "ended_turn", "kept_event", balance)}
    SELECT id, (SELECT balance::text FROM ending_balance) AS credits_available_after FROM ended_turn`;
}

/**
 * What the turn's wallet had available after its hold's release, or without
 * a hold after its last debit, as credit_transactions recorded it (statements
 * before this one).
 */
export const LAST_RECORDED_BALANCE = (turnId: string) =>
  sql`SELECT balance_after FROM credit_transactions WHERE turn_id = ${turnId}::uuid AND kind IN ('release', 'debit')
       ORDER BY kind = 'release' DESC, created_at DESC, id DESC LIMIT 1`;

/** A rejected routing attempt's verdicts, recorded on its step. */
export function routingDecisionCte(stepId: string, decision: unknown): Sql {
  return sql`routing_verdicts AS (
    UPDATE turn_steps SET routing_decision = ${JSON.stringify(decision)}::jsonb, updated_at = now() WHERE id = ${stepId}::uuid RETURNING id)`;
}

export interface StepOutcome {
  stepId: string;
  status: "completed" | "failed";
  output: string | null;
  error: string | null;
  routingDecision?: unknown;
}

export interface MessageInsert {
  sessionId: string;
  turnId: string;
  stepId: string;
  role: "agent" | "synthesis";
  agentId: string | null;
  agentKey: string | null;
  content: string;
}

export interface AuditInsert {
  turnId: string;
  stepId: string;
  agentId: string | null;
  modelAlias: string;
  audit: ContextAudit;
}

/** A step interrupted meanwhile (its turn ended by a lapsed lease) keeps that ending. */
function stepUpdateSql(outcome: StepOutcome): Sql {
  const decision = outcome.routingDecision === undefined ? null : JSON.stringify(outcome.routingDecision);
  return sql`UPDATE turn_steps SET status = ${outcome.status}::step_status, output = ${outcome.output}, error = ${outcome.error},
    routing_decision = coalesce(${decision}::jsonb, routing_decision), completed_at = now(), updated_at = now()
    WHERE id = ${outcome.stepId}::uuid AND status = 'running' RETURNING id`;
}

/** The transcript gets the step's output only if the step's result was recorded by this statement. */
function messageInsertSql(message: MessageInsert): Sql {
  return sql`INSERT INTO messages (id, session_id, turn_id, step_id, role, agent_id, agent_key, content)
    SELECT ${randomUUID()}::uuid, ${message.sessionId}::uuid, ${message.turnId}::uuid, ${message.stepId}::uuid, ${message.role}::message_role,
           ${message.agentId}::uuid, ${message.agentKey}, ${message.content}
      FROM finished_step
    ON CONFLICT (id) DO NOTHING RETURNING id`;
}

function auditInsertSql({ audit, ...row }: AuditInsert): Sql {
  const { limits } = audit;
  return sql`INSERT INTO turn_context_audit (id, turn_id, step_id, agent_id, model_alias, context_limit, output_reserve, overhead_reserve,
      input_budget, estimate_before, estimate_after_summary, estimate_after_prune, summarized, pruned, overflow)
    VALUES (${randomUUID()}::uuid, ${row.turnId}::uuid, ${row.stepId}::uuid, ${row.agentId}::uuid, ${row.modelAlias}, ${limits.contextLimit},
            ${limits.outputReserve}, ${limits.overheadReserve}, ${limits.inputBudget}, ${audit.estimateBefore}, ${audit.estimateAfterSummary},
            ${audit.estimateAfterPrune}, ${audit.summarized}, ${audit.pruned}, ${audit.overflow})
    ON CONFLICT (id) DO NOTHING RETURNING id`;
}

/** Step result + optional audit and message, as CTEs of the statement that also inserts the call's ledger row. */
export function finishStepCtes(parts: { outcome: StepOutcome; audit: AuditInsert | null; message: MessageInsert | null }): Sql[] {
  const ctes: Sql[] = [sql`finished_step AS (${stepUpdateSql(parts.outcome)})`];
  if (parts.audit) ctes.push(sql`step_audit AS (${auditInsertSql(parts.audit)})`);
  if (parts.message) ctes.push(sql`step_message AS (${messageInsertSql(parts.message)})`);
  return ctes;
}
