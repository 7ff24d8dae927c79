// Step lifecycle shared by agent and manager steps: create the step, call the
// gateway (retried attempts metered as they fail), then commit the final
// call's ledger row together with the step's result in one atomic statement.
import { randomUUID } from "node:crypto";
import type { StepKind } from "../generated/prisma/client.ts";
import type { ModelAliasName } from "../llm/models.ts";
import type { LlmRequest, ProviderAttempt } from "../llm/types.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import { ledgerInsertSql, type CallAttribution } from "../metering/ledger.ts";
import type { ContextAudit } from "../context-budget/plan.ts";
import type { RosterEntry } from "./roster.ts";
import type { TurnRun } from "./run.ts";
import { finishStepSql, startStepSql } from "./stepSql.ts";

export interface StartedStep {
  id: string;
  agent: RosterEntry | null;
  modelAlias: ModelAliasName;
}

export function attributionFor(run: TurnRun, stepId: string | null, agentId: string | null): CallAttribution {
  return { userId: run.userId, scope: run.scope, turnId: run.turnId, stepId, agentId, turnMode: run.mode };
}

/** Runs one (atomic) statement built with Prisma.sql on the pg pool. */
async function execute(run: TurnRun, statement: Prisma.Sql): Promise<void> {
  await run.services.pool.query(statement.text, statement.values as unknown[]);
}

export async function startStep(run: TurnRun, kind: StepKind, agent: RosterEntry | null, modelAlias: ModelAliasName): Promise<StartedStep> {
  const seq = run.nextStepSeq++;
  const id = randomUUID();
  await execute(run, startStepSql({ id, turnId: run.turnId, seq, kind, agentId: agent?.agentId ?? null, agentKey: agent?.agentKey ?? null, modelAlias, allowedTools: agent?.toolPermissions ?? [] }));
  run.services.bus.emit(run.turnId, { type: "StepStarted", stepId: id, stepSeq: seq, kind, agentKey: agent?.agentKey ?? null, modelAlias });
  return { id, agent, modelAlias };
}

/** Calls the gateway; each retried attempt commits its own ledger row before the retry. */
export function callForStep(run: TurnRun, step: StartedStep, request: Omit<LlmRequest, "onDelta">, streamDeltas: boolean): Promise<ProviderAttempt> {
  const attribution = attributionFor(run, step.id, step.agent?.agentId ?? null);
  const onDelta = streamDeltas ? (delta: string) => run.services.bus.emit(run.turnId, { type: "StepDelta", stepId: step.id, delta }) : undefined;
  return run.services.gateway.call({ ...request, onDelta }, (failed) => execute(run, ledgerInsertSql(attribution, failed).sql));
}

export interface StepResult {
  status: "completed" | "failed";
  output: string | null;
  error: string | null;
  routingDecision?: unknown;
}

export interface StepExtras {
  audit?: ContextAudit;
  /** The transcript message the step produced. */
  message?: { role: "agent" | "synthesis"; content: string };
}

/** Commits the step's result with the ledger row of the call that produced it (and its audit and message). */
export async function finishStep(run: TurnRun, step: StartedStep, attempt: ProviderAttempt | null, result: StepResult, extras: StepExtras = {}): Promise<void> {
  const agentId = step.agent?.agentId ?? null;
  const base = { turnId: run.turnId, stepId: step.id };
  await execute(
    run,
    finishStepSql({
      ledger: attempt ? ledgerInsertSql(attributionFor(run, step.id, agentId), attempt).sql : null,
      outcome: { stepId: step.id, ...result },
      audit: extras.audit ? { ...base, agentId, modelAlias: step.modelAlias, audit: extras.audit } : null,
      message: extras.message ? { ...base, sessionId: run.scope.sessionId, agentId, agentKey: step.agent?.agentKey ?? null, ...extras.message } : null,
    }),
  );
  run.services.bus.emit(run.turnId, { type: "StepCompleted", stepId: step.id, status: result.status, output: result.output, error: result.error });
}
