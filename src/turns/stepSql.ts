// Single-statement writes of the step lifecycle, as named CTEs that combine
// into one statement. One SQL statement is atomic: a step's result, its
// transcript message, its context audit and the ledger row of the call that
// produced it commit together, in one round trip, together with whatever
// comes next (the next step's start or the turn's end).
import { randomUUID } from "node:crypto";
import { Prisma, type StepKind } from "../generated/prisma/client.ts";
import type { ContextAudit } from "../context-budget/plan.ts";

export interface StepInsert {
  id: string;
  turnId: string;
  seq: number;
  kind: StepKind;
  agentId: string | null;
  agentKey: string | null;
  modelAlias: string;
  allowedTools: string[];
}

/** Inserts the running step. */
export function stepInsertCte(step: StepInsert): Prisma.Sql {
  return Prisma.sql`started_step AS (
      INSERT INTO turn_steps (id, turn_id, seq, kind, agent_id, agent_key, model_alias, allowed_tools, updated_at)
      VALUES (${step.id}::uuid, ${step.turnId}::uuid, ${step.seq}, ${step.kind}::step_kind, ${step.agentId}::uuid, ${step.agentKey},
              ${step.modelAlias}::model_alias, ${step.allowedTools}::text[]::tool_permission[], now())
      RETURNING id)`;
}

/** Inserts the running step and marks the turn as advancing (stale-turn recovery reads turns.updated_at). */
export function startStepCtes(step: StepInsert): Prisma.Sql[] {
  return [stepInsertCte(step), Prisma.sql`touched_turn AS (UPDATE turns SET updated_at = now() WHERE id = ${step.turnId}::uuid RETURNING id)`];
}

/**
 * Ends the turn and, atomically, any step an unexpected error left running.
 * `finishedStepId` is a step whose result the same statement records: it is
 * left to that update (a row updated twice in one statement is undefined).
 */
export function endTurnCtes(turnId: string, status: string, error: string | null, finishedStepId: string | null): Prisma.Sql[] {
  return [
    Prisma.sql`ended_turn AS (
      UPDATE turns SET status = ${status}::turn_status, error = ${error}, completed_at = now(), updated_at = now() WHERE id = ${turnId}::uuid RETURNING id)`,
    Prisma.sql`leftover_steps AS (
      UPDATE turn_steps SET status = 'failed', error = 'The turn ended before this step finished.', completed_at = now(), updated_at = now()
       WHERE turn_id = ${turnId}::uuid AND status = 'running' AND id IS DISTINCT FROM ${finishedStepId}::uuid RETURNING id)`,
  ];
}

/** A rejected routing attempt's verdicts, recorded on its step. */
export function routingDecisionCte(stepId: string, decision: unknown): Prisma.Sql {
  return Prisma.sql`routing_verdicts AS (
    UPDATE turn_steps SET routing_decision = ${JSON.stringify(decision)}::jsonb, updated_at = now() WHERE id = ${stepId}::uuid RETURNING id)`;
}

/** One statement from CTEs; data-modifying CTEs always run to completion, read or not. */
export function statementOf(ctes: Prisma.Sql[]): Prisma.Sql {
  return Prisma.sql`WITH ${Prisma.join(ctes, ", ")} SELECT 1`;
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

function stepUpdateSql(outcome: StepOutcome): Prisma.Sql {
  const decision = outcome.routingDecision === undefined ? null : JSON.stringify(outcome.routingDecision);
  return Prisma.sql`UPDATE turn_steps SET status = ${outcome.status}::step_status, output = ${outcome.output}, error = ${outcome.error},
    routing_decision = coalesce(${decision}::jsonb, routing_decision), completed_at = now(), updated_at = now()
    WHERE id = ${outcome.stepId}::uuid RETURNING id`;
}

function messageInsertSql(message: MessageInsert): Prisma.Sql {
  return Prisma.sql`INSERT INTO messages (id, session_id, turn_id, step_id, role, agent_id, agent_key, content)
    VALUES (${randomUUID()}::uuid, ${message.sessionId}::uuid, ${message.turnId}::uuid, ${message.stepId}::uuid, ${message.role}::message_role,
            ${message.agentId}::uuid, ${message.agentKey}, ${message.content}) RETURNING id`;
}

function auditInsertSql({ audit, ...row }: AuditInsert): Prisma.Sql {
  const { limits } = audit;
  return Prisma.sql`INSERT INTO turn_context_audit (id, turn_id, step_id, agent_id, model_alias, context_limit, output_reserve, overhead_reserve,
      input_budget, estimate_before, estimate_after_summary, estimate_after_prune, summarized, pruned, overflow)
    VALUES (${randomUUID()}::uuid, ${row.turnId}::uuid, ${row.stepId}::uuid, ${row.agentId}::uuid, ${row.modelAlias}, ${limits.contextLimit},
            ${limits.outputReserve}, ${limits.overheadReserve}, ${limits.inputBudget}, ${audit.estimateBefore}, ${audit.estimateAfterSummary},
            ${audit.estimateAfterPrune}, ${audit.summarized}, ${audit.pruned}, ${audit.overflow}) RETURNING id`;
}

/** Ledger row (if a call was made) + step result + optional audit and message: never split across statements. */
export function finishStepCtes(parts: { ledger: Prisma.Sql | null; outcome: StepOutcome; audit: AuditInsert | null; message: MessageInsert | null }): Prisma.Sql[] {
  const ctes: Prisma.Sql[] = [Prisma.sql`finished_step AS (${stepUpdateSql(parts.outcome)})`];
  if (parts.ledger) ctes.push(Prisma.sql`step_ledger AS (${parts.ledger} RETURNING id)`);
  if (parts.audit) ctes.push(Prisma.sql`step_audit AS (${auditInsertSql(parts.audit)})`);
  if (parts.message) ctes.push(Prisma.sql`step_message AS (${messageInsertSql(parts.message)})`);
  return ctes;
}
