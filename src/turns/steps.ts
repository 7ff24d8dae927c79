// Step lifecycle shared by agent and manager steps: create the step, call the
// gateway (retried attempts metered as they fail), then commit the final
// call's ledger row together with the step's result in one atomic statement,
// which also carries the turn's next write (next step's start or turn's end).
import { randomUUID } from "node:crypto";
import type { StepKind } from "../generated/prisma/client.ts";
import type { ModelAliasName } from "../llm/models.ts";
import type { LlmRequest, ProviderAttempt } from "../llm/types.ts";
import { Prisma } from "../generated/prisma/client.ts";
import { ledgerInsertSql, type CallAttribution } from "../metering/ledger.ts";
import type { ContextAudit } from "../context-budget/plan.ts";
import type { RosterEntry } from "./roster.ts";
import type { TurnRun } from "./run.ts";
import { finishStepCtes, startStepCtes, statementOf } from "./stepSql.ts";

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
  await run.services.pool.query(run.services.statements.config(statement.text, statement.values));
}

/**
 * Sends `ctes` in one statement with the pending finished step, if any. If
 * that statement fails, the finished step's write is tried alone before the
 * error propagates, so a failure in what came next never costs a finished
 * call its ledger row.
 */
export async function writeWithPendingFinish(run: TurnRun, ctes: Prisma.Sql[]): Promise<void> {
  const pending = run.pendingFinish;
  run.pendingFinish = null;
  if (!pending) return ctes.length > 0 ? execute(run, statementOf(ctes)) : undefined;
  try {
    await execute(run, statementOf([...pending.ctes, ...ctes]));
  } catch (error) {
    await execute(run, statementOf(pending.ctes)).then(
      () => run.services.bus.emit(run.turnId, pending.event),
      () => undefined,
    );
    throw error;
  }
  run.services.bus.emit(run.turnId, pending.event);
}

/** The step accepted with the turn, if this is it; it can only be the turn's first. */
function takeAcceptedStep(run: TurnRun, kind: StepKind, agent: RosterEntry | null): StartedStep | null {
  const accepted = run.acceptedStep;
  run.acceptedStep = null;
  if (!accepted) return null;
  if (kind !== "agent" || accepted.agent?.agentId !== agent?.agentId) throw new Error("the turn's first step is not the one accepted with it");
  return accepted;
}

export async function startStep(run: TurnRun, kind: StepKind, agent: RosterEntry | null, modelAlias: ModelAliasName): Promise<StartedStep> {
  const accepted = takeAcceptedStep(run, kind, agent);
  if (accepted) {
    run.services.bus.emit(run.turnId, { type: "StepStarted", stepId: accepted.id, stepSeq: 1, kind, agentKey: agent?.agentKey ?? null, modelAlias: accepted.modelAlias });
    return accepted;
  }
  const seq = run.nextStepSeq++;
  const id = randomUUID();
  const insert = { id, turnId: run.turnId, seq, kind, agentId: agent?.agentId ?? null, agentKey: agent?.agentKey ?? null, modelAlias, allowedTools: agent?.toolPermissions ?? [] };
  await writeWithPendingFinish(run, startStepCtes(insert));
  run.services.bus.emit(run.turnId, { type: "StepStarted", stepId: id, stepSeq: seq, kind, agentKey: agent?.agentKey ?? null, modelAlias });
  return { id, agent, modelAlias };
}

/**
 * Token chunks that arrive together (one read from the provider's stream, or
 * a whole local reply) go out as one StepDelta: a subscriber gets the same
 * text in fewer events, each of which costs a GraphQL execution.
 */
function deltaBuffer(emit: (text: string) => void): { add(delta: string): void; flush(): void } {
  let pending = "";
  const flush = () => {
    if (pending === "") return;
    const text = pending;
    pending = "";
    emit(text);
  };
  return {
    add(delta) {
      if (pending === "") setImmediate(flush);
      pending += delta;
    },
    flush,
  };
}

/**
 * Meters a provider call that is not its step's final one (a retried or a
 * rejected attempt), with whatever it produced, in one statement.
 */
export function meterAttempt(run: TurnRun, step: StartedStep, attempt: ProviderAttempt, producedWrites: Prisma.Sql[] = []): Promise<void> {
  const ledger = ledgerInsertSql(attributionFor(run, step.id, step.agent?.agentId ?? null), attempt).sql;
  return writeWithPendingFinish(run, [Prisma.sql`attempt_ledger AS (${ledger})`, ...producedWrites]);
}

/** Calls the gateway; each retried attempt commits its own ledger row before the retry. */
export async function callForStep(run: TurnRun, step: StartedStep, request: Omit<LlmRequest, "onDelta">, streamDeltas: boolean): Promise<ProviderAttempt> {
  const deltas = streamDeltas ? deltaBuffer((delta) => run.services.bus.emit(run.turnId, { type: "StepDelta", stepId: step.id, delta })) : null;
  const attempt = await run.services.gateway.call({ ...request, onDelta: deltas ? (delta) => deltas.add(delta) : undefined }, (failed) => meterAttempt(run, step, failed));
  // Every chunk is out before the step can complete.
  deltas?.flush();
  return attempt;
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

/**
 * Records the step's result with the ledger row of the call that produced it
 * (and its audit and message). The write goes out with the turn's next write,
 * which the caller issues at once: the next startStep or the turn's end.
 */
export async function finishStep(run: TurnRun, step: StartedStep, attempt: ProviderAttempt | null, result: StepResult, extras: StepExtras = {}): Promise<void> {
  // Never hold two: a step's finish always follows its own start, which sent the previous one.
  if (run.pendingFinish) await writeWithPendingFinish(run, []);
  const agentId = step.agent?.agentId ?? null;
  const base = { turnId: run.turnId, stepId: step.id };
  run.pendingFinish = {
    stepId: step.id,
    ctes: finishStepCtes({
      ledger: attempt ? ledgerInsertSql(attributionFor(run, step.id, agentId), attempt).sql : null,
      outcome: { stepId: step.id, ...result },
      audit: extras.audit ? { ...base, agentId, modelAlias: step.modelAlias, audit: extras.audit } : null,
      message: extras.message ? { ...base, sessionId: run.scope.sessionId, agentId, agentKey: step.agent?.agentKey ?? null, ...extras.message } : null,
    }),
    event: { type: "StepCompleted", stepId: step.id, status: result.status, output: result.output, error: result.error },
  };
}
