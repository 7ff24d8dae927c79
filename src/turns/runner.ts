// Executes an accepted turn by its mode and records how it ended. Runs on the
// server independently of the client that sent the message. A turn stopped
// by the database (or a bug) ends PARTIAL or FAILED by its finished steps; a
// turn another instance ended (lease lapsed) is only announced here.
import { sql } from "../db/sql.ts";
import { type TurnStatus, type TurnStopReason } from "../generated/prisma/client.ts";
import { isTransientDatabaseError } from "../db/transientErrors.ts";
import { errorFields, logger } from "../observability/logger.ts";
import { runAgentStep, type AgentStepOutcome, type FollowingAgent, type PreparedAgentStep } from "./agentStep.ts";
import { INTERRUPTED_DATABASE_ERROR, INTERRUPTED_LEASE_ERROR, endOwnTurnInterrupted, type EndedTurn } from "./leaseSql.ts";
import { endTurnStatement, ownedTurnEvent } from "./stepSql.ts";
import { TurnLostError, writeForTurn } from "./turnWrites.ts";
import type { TurnEventPayload } from "./events.ts";
import { keptEventCte, type KeptPayload } from "./eventSql.ts";
import type { UsageSums } from "../metering/usageSums.ts";
import { runRoundDecisionStep, runRoutingStep, runSynthesisStep } from "./managerSteps.ts";
import { haltMessage, haltTurn, TurnHalted } from "./halt.ts";
import { publishAccepted } from "./steps.ts";
import { sameSelection } from "./roundDecision.ts";
import { planAgents } from "./planning.ts";
import type { TurnRun } from "./run.ts";

export interface Ending {
  status: TurnStatus;
  error: string | null;
  /** Why the turn ended (SPEC 16). */
  stopReason: TurnStopReason;
}

/** Why a turn that stopped early says it stopped. */
function stoppedError(run: TurnRun, reason: TurnStopReason): string {
  if (reason === "cancelled" || reason === "timeout") return haltMessage(run, reason);
  return "Stopped: not enough credits for the next call.";
}

interface StepCounts {
  succeeded: number;
  failed: number;
}

/** Runs one step; a step refused at its start because the turn was halted counts as not run. */
async function unlessHalted<T>(step: () => Promise<T>): Promise<T | null> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof TurnHalted) return null;
    throw error;
  }
}

/**
 * Agents in order; one failing does not stop the others, a call that cannot
 * be held (or a halt) stops them all. Each agent's step starts with the
 * previous one's answer; one started just before a halt finishes without its
 * call.
 */
async function runAgents(run: TurnRun, agents: FollowingAgent[], counts: StepCounts = { succeeded: 0, failed: 0 }): Promise<StepCounts> {
  let prepared: PreparedAgentStep | null = null;
  for (const [index, { agent, instruction }] of agents.entries()) {
    if (run.stopped && !run.startedAhead) break;
    const outcome: AgentStepOutcome | null = await unlessHalted(() => runAgentStep(run, agent, instruction, agents[index + 1] ?? null, prepared));
    if (outcome === null) break;
    const { ok } = outcome;
    prepared = outcome.nextPrepared;
    if (ok) counts.succeeded++;
    else counts.failed++;
  }
  return counts;
}

/** The ending of the steps that ran: a turn stopped early is PARTIAL when a step completed, FAILED otherwise. */
function endingOf(run: TurnRun, counts: StepCounts, planned: TurnStopReason = "done"): Ending {
  if (run.stopped) return { status: counts.succeeded > 0 ? "partial" : "failed", error: stoppedError(run, run.stopped), stopReason: run.stopped };
  if (counts.failed === 0) return { status: "completed", error: null, stopReason: planned };
  if (counts.succeeded === 0) return { status: "failed", error: "Every agent step failed.", stopReason: planned };
  return { status: "partial", error: `${counts.failed} of ${counts.succeeded + counts.failed} agent steps failed.`, stopReason: planned };
}

/** Why an orchestrator turn's rounds ended, and what the ending adds to say so. */
type RoundsEnd = { reason: TurnStopReason; note: string | null };

/** Keeps a round event (RoundStarted, RoundCompleted) and publishes it. */
async function keepRoundEvent(run: TurnRun, payload: Extract<KeptPayload, { type: "RoundStarted" | "RoundCompleted" }>): Promise<void> {
  const sequence = run.numbers.nextKept();
  const at = new Date();
  const { rows } = await writeForTurn<{ kept: number }>(run, ownedTurnEvent(run.turnId, run.services.owner, keptEventCte(run.turnId, sequence, payload, at, "owned_turn")));
  if (rows[0]?.kept !== 1) throw new TurnLostError(run.turnId);
  run.services.publish(run.turnId, sequence, payload, at);
}

/**
 * Orchestrator (SPEC 16): round 1 runs the agents the manager routes to;
 * after each round but the last the manager decides to stop or continue
 * with another selection, within the room's limits. The synthesis runs when
 * at least one specialist succeeded and nothing halted the turn.
 */
async function runOrchestrated(run: TurnRun): Promise<Ending> {
  const limits = run.turnLimits;
  await keepRoundEvent(run, { type: "RoundStarted", round: 1 });
  const plan = await unlessHalted(() => runRoutingStep(run));
  if (!plan) {
    await keepRoundEvent(run, { type: "RoundCompleted", round: 1, usage: run.usage.total });
    if (run.stopped) return endingOf(run, { succeeded: 0, failed: 0 });
    return { status: "failed", error: "The manager's routing decision was not valid; no agent ran.", stopReason: "error" };
  }
  const byKey = new Map(run.roster.map((agent) => [agent.agentKey, agent]));
  const perAgent = new Map(run.roster.map((agent) => [agent.agentKey, 0]));
  const counts: StepCounts = { succeeded: 0, failed: 0 };
  const answered = new Set<string>();
  let selection = plan.steps;
  let end: RoundsEnd;
  for (;;) {
    for (const step of selection) perAgent.set(step.agentKey, perAgent.get(step.agentKey)! + 1);
    const before = answered.size;
    await runAgents(run, selection.map((step) => ({ agent: byKey.get(step.agentKey)!, instruction: step.instruction })), counts);
    for (const output of run.outputs) answered.add(output.content);
    const somethingNew = answered.size > before;
    if (run.stopped) {
      end = { reason: run.stopped, note: null };
      break;
    }
    if (run.round >= limits.maxRounds) {
      end = { reason: "max_rounds", note: null };
      break;
    }
    const invocations = counts.succeeded + counts.failed;
    const standing = { round: run.round, invocationsLeft: limits.maxInvocations - invocations, perAgentLeft: new Map([...perAgent].map(([key, used]) => [key, limits.maxPerAgent - used])) };
    const decided = await unlessHalted(() => runRoundDecisionStep(run, standing));
    if (!decided || !decided.ok) {
      end = run.stopped ? { reason: run.stopped, note: null } : { reason: "error", note: decided?.invalid ? "The manager's round decision was not valid; the rounds stopped." : "The manager's round decision failed; the rounds stopped." };
      break;
    }
    if (decided.decision.decision === "stop") {
      end = { reason: "done", note: null };
      break;
    }
    const next = decided.decision.steps;
    if (sameSelection(next, selection) && !somethingNew) {
      end = { reason: "loop", note: "The manager chose the same agents again after a round with nothing new." };
      break;
    }
    const overAgent = next.find((step) => next.filter((other) => other.agentKey === step.agentKey).length + perAgent.get(step.agentKey)! > limits.maxPerAgent);
    if (invocations + next.length > limits.maxInvocations || overAgent) {
      end = { reason: "max_invocations", note: overAgent ? `${overAgent.agentKey} would run more than ${limits.maxPerAgent} times.` : `The next round would pass ${limits.maxInvocations} agent steps.` };
      break;
    }
    await keepRoundEvent(run, { type: "RoundCompleted", round: run.round, usage: run.usage.total });
    run.round += 1;
    await keepRoundEvent(run, { type: "RoundStarted", round: run.round });
    selection = next;
  }
  await keepRoundEvent(run, { type: "RoundCompleted", round: run.round, usage: run.usage.total });
  const ending = endingOf(run, counts, end.reason);
  if (run.stopped || counts.succeeded === 0) return ending;
  const synthesized = await unlessHalted(() => runSynthesisStep(run));
  // A halt during the synthesis ends the turn with its reason.
  const final = run.stopped ? endingOf(run, counts) : ending;
  const notes = [final.error, end.note, synthesized ? null : "The synthesis step failed."].filter(Boolean);
  const failedOnRounds = end.reason === "error" || !synthesized;
  return { ...final, status: failedOnRounds && final.status === "completed" ? "partial" : final.status, error: notes.length > 0 ? notes.join(" ") : null };
}

async function execute(run: TurnRun): Promise<Ending> {
  if (run.mode === "orchestrator") return runOrchestrated(run);
  const plan = planAgents(run.mode, run.roster, run.userContent);
  if (plan.kind !== "agents") return { status: "failed", error: "No agent to run.", stopReason: "error" };
  return endingOf(run, await runAgents(run, plan.agents.map((agent) => ({ agent, instruction: null }))));
}

export async function runTurn(run: TurnRun): Promise<Ending> {
  publishAccepted(run);
  // The wall-clock limit counts from accept.
  const remainingMs = run.acceptedAt.getTime() + run.turnLimits.timeLimitSeconds * 1000 - Date.now();
  const deadline = setTimeout(() => haltTurn(run, "timeout"), Math.max(0, remainingMs));
  let outcome: Ending | Interruption;
  try {
    outcome = await execute(run);
  } catch (error) {
    outcome = interruptionOf(run, error);
  } finally {
    clearTimeout(deadline);
  }
  return recordEnding(run, outcome);
}

/** Why a turn stopped before its plan was done; calls already made are metered by then. */
export type Interruption = { interrupted: "lost" } | { interrupted: "error"; error: string; stopReason: "interrupted" | "error" };

function interruptionOf(run: TurnRun, error: unknown): Interruption {
  if (error instanceof TurnLostError) return { interrupted: "lost" };
  if (isTransientDatabaseError(error)) {
    logger.warn({ turnId: run.turnId, ...errorFields(error) }, "turn interrupted: the database is unavailable");
    return { interrupted: "error", error: INTERRUPTED_DATABASE_ERROR, stopReason: "interrupted" };
  }
  // A bug: the turn ends with a generic reason; details stay server-side.
  logger.error({ turnId: run.turnId, ...errorFields(error) }, "turn stopped by an unexpected error");
  return { interrupted: "error", error: INTERNAL_ERROR, stopReason: "error" };
}

const INTERNAL_ERROR = "The turn stopped because of an internal error.";

/**
 * Writes the turn's end and its ending event, and publishes it, unless
 * another instance already ended it (then that instance kept and published
 * the ending); returns the ending the database holds. If the database stays
 * away, the lease sweep of whichever instance sees it first ends it later.
 */
export async function recordEnding(run: TurnRun, outcome: Ending | Interruption): Promise<Ending> {
  const { owner } = run.services;
  try {
    if ("interrupted" in outcome && outcome.interrupted === "lost") return await readEnding(run);
    if ("interrupted" in outcome) {
      const { rows } = await writeForTurn<EndedTurn>(run, endOwnTurnInterrupted(run.turnId, owner.instanceId, outcome.error, outcome.stopReason), owner.leaseMs);
      const ended = rows[0];
      if (!ended) return await readEnding(run);
      publishEnding(run, ended);
      return { status: ended.status, error: ended.error, stopReason: ended.stop_reason };
    }
    const payload = endingPayload(outcome, run.usage.total);
    const sequence = run.numbers.nextKept();
    const at = new Date();
    const { rows } = await writeForTurn<{ credits_available_after: string | null }>(run, endTurnStatement(run.turnId, outcome, owner, { sequence, payload, at }), owner.leaseMs);
    if (rows.length !== 1) return await readEnding(run);
    run.services.publish(run.turnId, sequence, { ...payload, creditsAvailableAfter: rows[0]!.credits_available_after }, at);
    return outcome;
  } catch (error) {
    logger.error({ turnId: run.turnId, ...errorFields(error) }, "turn end not recorded; the lease sweep will end it");
    return { status: "failed", error: INTERRUPTED_DATABASE_ERROR, stopReason: "interrupted" };
  }
}

function endingPayload(ending: Ending, usage: UsageSums): Extract<KeptPayload, { type: "TurnCompleted" | "TurnFailed" }> {
  const { stopReason } = ending;
  return ending.status === "failed" ? { type: "TurnFailed", error: ending.error ?? "The turn failed.", usage, stopReason } : { type: "TurnCompleted", status: ending.status, usage, stopReason };
}

/** An ending kept by SQL alone (interruptions), published as it was kept. */
export function publishEnding(run: Pick<TurnRun, "services" | "turnId">, ended: EndedTurn): void {
  run.services.publish(run.turnId, ended.sequence, { ...(ended.payload as object), type: ended.type } as TurnEventPayload, ended.created_at);
}

async function readEnding(run: TurnRun): Promise<Ending> {
  const { rows } = await writeForTurn<{ status: string; error: string | null; stop_reason: TurnStopReason | null }>(
    run,
    sql`SELECT status::text AS status, error, stop_reason::text AS stop_reason FROM turns WHERE id = ${run.turnId}::uuid`,
  );
  const row = rows[0];
  if (!row || row.status === "running") return { status: "failed", error: INTERRUPTED_LEASE_ERROR, stopReason: "interrupted" };
  return { status: row.status as TurnStatus, error: row.error, stopReason: row.stop_reason ?? "done" };
}
