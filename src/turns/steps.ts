// Step lifecycle shared by agent and manager steps: start the step (only
// while this instance still owns the turn), call the gateway, then record the
// call's ledger row together with the step's result through the ledger
// writer (metering/ledgerWriter.ts): one statement per finished call.
import type pg from "pg";
import { sql, type Sql } from "../db/sql.ts";
import { randomUUID } from "node:crypto";
import type { StepKind } from "../generated/prisma/client.ts";
import type { ModelAliasName } from "../llm/models.ts";
import type { LlmRequest, ProviderAttempt } from "../llm/types.ts";
import { ledgerRowFor, type CallAttribution, type LedgerRow } from "../metering/ledger.ts";
import { CALL_KINDS } from "../metering/callKinds.ts";
import { addRow, emptyUsage } from "../metering/usageSums.ts";
import { statementOf } from "../db/cteStatement.ts";
import type { ContextAudit } from "../context-budget/plan.ts";
import type { RosterEntry } from "./roster.ts";
import type { StartedStep, TurnRun } from "./run.ts";
import { finishStepCtes, startStepParts } from "./stepSql.ts";
import { TurnLostError, writeForTurn } from "./turnWrites.ts";
import { keptAtAccept } from "./events.ts";
import { KEPT_WRITTEN, keptEventCte, type KeptPayload } from "./eventSql.ts";
import { CallUnfunded, type AheadHold } from "../credits/callFunding.ts";
import { haltMessage, haltTurn, throwIfHalted, TurnHalted } from "./halt.ts";
import type { HoldRow } from "../credits/callHolds.ts";

export function attributionFor(run: TurnRun, stepId: string | null, agentId: string | null): CallAttribution {
  return { userId: run.userId, scope: run.scope, turnId: run.turnId, stepId, agentId, turnMode: run.mode };
}

/**
 * A step already started when the runner reaches it: the turn's first, with
 * the turn at accept (`acceptedStep`), or one started with the previous
 * step's result (`startedAhead`); it must be the step the runner is at.
 */
function takeStarted(run: TurnRun, which: "acceptedStep" | "startedAhead", kind: StepKind, agent: RosterEntry | null): StartedStep | null {
  const started = run[which];
  run[which] = null;
  if (!started) return null;
  if (kind !== "agent" || started.agent?.agentId !== agent?.agentId) throw new Error(`the ${which} step is not the one the runner reached`);
  return started;
}

/** A step to start: its kind, agent and model, and its first provider call, whose bound the start holds. */
export interface NextStep {
  kind: StepKind;
  agent: RosterEntry | null;
  modelAlias: ModelAliasName;
  firstCall: LlmRequest | null;
}

/** A start about to be written: the row, its StepStarted, the hold of its first call and its SQL. */
interface PlannedStart {
  step: StartedStep;
  payload: Extract<KeptPayload, { type: "StepStarted" }>;
  sequence: number;
  at: Date;
  hold: AheadHold | null;
  sql: { ctes: Sql[]; columns: Sql };
}

interface StartRow {
  owned: number;
  hold: HoldRow | null;
  cancel_requested: boolean | null;
}

function planStart(run: TurnRun, { kind, agent, modelAlias, firstCall }: NextStep): PlannedStart {
  const seq = run.nextStepSeq++;
  const id = randomUUID();
  const insert = { id, turnId: run.turnId, seq, kind, agentId: agent?.agentId ?? null, agentKey: agent?.agentKey ?? null, modelAlias, allowedTools: agent?.toolPermissions ?? [], round: run.round };
  const payload = { type: "StepStarted", stepId: id, stepSeq: seq, kind, agentKey: agent?.agentKey ?? null, modelAlias } as const;
  const sequence = run.numbers.nextKept();
  const at = new Date();
  // A start sent again after a lost answer may hold twice: the extra is held until the turn ends, never spent.
  const hold = firstCall ? run.funding.holdAhead(firstCall) : null;
  const startedEvent = keptEventCte(run.turnId, sequence, payload, at, "touched_turn", "started_event");
  return { step: { id, agent, modelAlias }, payload, sequence, at, hold, sql: startStepParts(insert, run.services.owner, startedEvent, hold?.statement ?? null) };
}

/** The started step (its hold recorded, its StepStarted published), or why it did not start; a refused start gives its numbers back. */
function startOutcome(run: TurnRun, start: PlannedStart, row: StartRow | undefined, beforeSettling: boolean): StartedStep | "lost" | "cancelled" {
  if (row?.owned !== 1) {
    run.nextStepSeq--;
    run.numbers.unuseKept();
    return row?.cancel_requested ? "cancelled" : "lost";
  }
  start.hold?.record(row.hold ?? undefined, beforeSettling);
  run.services.publish(run.turnId, start.sequence, start.payload, start.at);
  return start.step;
}

/**
 * Publishes the events kept with the turn at accept (TurnStarted, and the
 * first step's StepStarted when the accept started it), in their order,
 * before anything else of the run: nothing kept later goes out before them.
 */
export function publishAccepted(run: TurnRun): void {
  const step = run.acceptedStep;
  const events = keptAtAccept(run.mode, run.roster, step && { stepId: step.id, agentKey: step.agent?.agentKey ?? null, modelAlias: step.modelAlias });
  for (const { sequence, payload } of events) run.services.publish(run.turnId, sequence, payload, run.acceptedAt);
}

/**
 * Starts a step, with the hold of `firstCall` (the step's first provider
 * call) in the same statement, unless it was started already (with the turn,
 * or with the previous step's result); throws TurnLostError when another
 * instance ended the turn (its lease lapsed), and TurnHalted when the turn
 * was halted or its owner asked to cancel it, so no call is made for it.
 */
export async function startStep(run: TurnRun, kind: StepKind, agent: RosterEntry | null, modelAlias: ModelAliasName, firstCall: LlmRequest | null = null): Promise<StartedStep> {
  // Its StepStarted went out with the turn's (publishAccepted).
  const accepted = takeStarted(run, "acceptedStep", kind, agent);
  if (accepted) return accepted;
  const ahead = takeStarted(run, "startedAhead", kind, agent);
  if (ahead) return ahead;
  throwIfHalted(run);
  const start = planStart(run, { kind, agent, modelAlias, firstCall });
  const { rows } = await writeForTurn<StartRow>(run, statementOf(start.sql.ctes, start.sql.columns));
  const outcome = startOutcome(run, start, rows[0], false);
  if (outcome === "lost") throw new TurnLostError(run.turnId);
  if (outcome === "cancelled") {
    haltTurn(run, "cancelled");
    throw new TurnHalted("cancelled");
  }
  return outcome;
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

/** The call's ledger row, with the bound and hold its funding recorded (the row's debit releases that hold). */
function rowFor(run: TurnRun, step: StartedStep, attempt: ProviderAttempt): LedgerRow {
  return ledgerRowFor(attributionFor(run, step.id, step.agent?.agentId ?? null), attempt, run.funding.settle());
}

/** Records a provider call's ledger row, with `companions` (what the call produced) in the same statement. */
export async function meterCall(run: TurnRun, step: StartedStep, attempt: ProviderAttempt, companions: Sql[] = []): Promise<void> {
  await recordCall(run, step, rowFor(run, step, attempt), companions);
}

async function recordCall<Row extends pg.QueryResultRow>(run: TurnRun, step: StartedStep, row: LedgerRow, companions: Sql[], select?: Sql) {
  const result = await run.services.ledger.record<Row>([row], companions, select);
  run.usage.byStep.set(step.id, addRow(run.usage.byStep.get(step.id) ?? emptyUsage(), row));
  run.usage.total = addRow(run.usage.total, row);
  return result;
}

function publishDelta(run: TurnRun, step: StartedStep, delta: string): void {
  const sequence = run.numbers.nextDelta();
  if (sequence !== null) run.services.publish(run.turnId, sequence, { type: "StepDelta", stepId: step.id, delta }, new Date());
}

/**
 * The hooks of every call a turn makes: no attempt starts once the turn is
 * halted, each is held before it starts and carries the turn's abort signal,
 * and each retried one is metered before the retry.
 */
export function turnCallHooks(run: TurnRun, step: StartedStep) {
  return {
    beforeAttempt: async (request: LlmRequest): Promise<LlmRequest> => {
      throwIfHalted(run);
      const funded = await run.funding.fund(request);
      return { ...funded, signal: run.control.signal };
    },
    recordRetried: (failed: ProviderAttempt) => meterCall(run, step, failed),
  };
}

/** A step's error for a call that did not succeed: an aborted call says why its turn was halted. */
export function stepErrorOf(run: TurnRun, attempt: ProviderAttempt): string | null {
  if (attempt.status === "cancelled" && (run.stopped === "cancelled" || run.stopped === "timeout")) return haltMessage(run, run.stopped);
  return attempt.errorMessage;
}

/**
 * Calls the gateway, each attempt held first; the call's kind says whether
 * its output streams as StepDelta events. Throws CallUnfunded when an attempt
 * cannot be held, TurnHalted when the turn was halted before it (attempts
 * before it are metered).
 */
export async function callForStep(run: TurnRun, step: StartedStep, request: Omit<LlmRequest, "onDelta">): Promise<ProviderAttempt> {
  const deltas = CALL_KINDS[request.callKind].streamsDeltas ? deltaBuffer((delta) => publishDelta(run, step, delta)) : null;
  const attempt = await run.services.gateway.call({ ...request, onDelta: deltas ? (delta) => deltas.add(delta) : undefined }, turnCallHooks(run, step));
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
 * Records the step's result, with the ledger row of the call that produced it
 * (and its audit, message and StepCompleted event), in one statement. With
 * `next`, the same statement starts the next step (startStep's rules), which
 * its runner then takes up. Throws TurnLostError when another instance ended
 * the turn meanwhile: the row is still committed, the result is not.
 */
export async function finishStep(run: TurnRun, step: StartedStep, attempt: ProviderAttempt | null, result: StepResult, extras: StepExtras = {}, next: NextStep | null = null): Promise<void> {
  const agentId = step.agent?.agentId ?? null;
  const base = { turnId: run.turnId, stepId: step.id };
  const row = attempt ? rowFor(run, step, attempt) : null;
  const stepUsage = run.usage.byStep.get(step.id) ?? emptyUsage();
  const usage = row ? addRow(stepUsage, row) : stepUsage;
  const payload = { type: "StepCompleted", stepId: step.id, agentKey: step.agent?.agentKey ?? null, status: result.status, output: result.output, error: result.error, usage } as const;
  const sequence = run.numbers.nextKept();
  const at = new Date();
  const ctes = [
    ...finishStepCtes({
      outcome: { stepId: step.id, ...result },
      audit: extras.audit ? { ...base, agentId, modelAlias: step.modelAlias, audit: extras.audit } : null,
      message: extras.message ? { ...base, sessionId: run.scope.sessionId, agentId, agentKey: step.agent?.agentKey ?? null, ...extras.message } : null,
    }),
    keptEventCte(run.turnId, sequence, payload, at, "finished_step"),
  ];
  // The next step rides on the ledger row's statement: one round trip fewer per step.
  const start = row && next ? planStart(run, next) : null;
  const select = start ? sql`${KEPT_WRITTEN}, ${start.sql.columns}` : KEPT_WRITTEN;
  // The start's columns are there when it rode along.
  type Written = { kept: number } & StartRow;
  const written = row ? await recordCall<Written>(run, step, row, start ? [...ctes, ...start.sql.ctes] : ctes, select) : (await writeForTurn<Written>(run, statementOf(ctes, KEPT_WRITTEN))).rows[0];
  // The step was ended as interrupted by another instance (its result would contradict the turn's ending).
  if (written?.kept !== 1) throw new TurnLostError(run.turnId);
  run.services.publish(run.turnId, sequence, payload, at);
  if (!start) return;
  // This statement's debit releases the finished call's unused hold after the next call's hold looked: that hold may be retried alone.
  const outcome = startOutcome(run, start, written, true);
  if (outcome === "lost") throw new TurnLostError(run.turnId);
  if (outcome === "cancelled") haltTurn(run, "cancelled");
  else run.startedAhead = outcome;
}

/** A call that was not made: it could not be held (SPEC 14), or its turn was halted (halt.ts). */
function isCallNotStarted(error: unknown): error is CallUnfunded | TurnHalted {
  return error instanceof CallUnfunded || error instanceof TurnHalted;
}

/**
 * Runs the step's calls; when one was not made (it could not be held, or the
 * turn was halted), the step is finished without it and the answer is null.
 */
export async function unlessNotStarted<T>(run: TurnRun, step: StartedStep, calls: () => Promise<T>): Promise<T | null> {
  try {
    return await calls();
  } catch (error) {
    if (!isCallNotStarted(error)) throw error;
    await finishNotStarted(run, step, error);
    return null;
  }
}

/**
 * A call of the step was not made: the step fails without it, and the turn
 * stops here, with BUDGET when it could not be held (SPEC 14).
 */
async function finishNotStarted(run: TurnRun, step: StartedStep, notStarted: CallUnfunded | TurnHalted): Promise<void> {
  const error = notStarted instanceof TurnHalted ? haltMessage(run, notStarted.reason) : `Stopped before this call: ${notStarted.message}.`;
  if (notStarted instanceof CallUnfunded) run.stopped ??= "budget";
  await finishStep(run, step, null, { status: "failed", output: null, error });
}
