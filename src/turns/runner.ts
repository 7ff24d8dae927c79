// Executes an accepted turn by its mode and records how it ended. Runs on the
// server independently of the client that sent the message. A turn stopped
// by the database (or a bug) ends PARTIAL or FAILED by its finished steps; a
// turn another instance ended (lease lapsed) is only announced here.
import { sql } from "../db/sql.ts";
import { type TurnStatus, type TurnStopReason } from "../generated/prisma/client.ts";
import { isTransientDatabaseError } from "../db/transientErrors.ts";
import { errorFields, logger } from "../observability/logger.ts";
import { runAgentStep } from "./agentStep.ts";
import { INTERRUPTED_DATABASE_ERROR, INTERRUPTED_LEASE_ERROR, endOwnTurnInterrupted, type EndedTurn } from "./leaseSql.ts";
import { endTurnStatement } from "./stepSql.ts";
import { TurnLostError, writeForTurn } from "./turnWrites.ts";
import { KEPT_STRIDE, type TurnEventPayload } from "./events.ts";
import { keptEventCte, type KeptPayload } from "./eventSql.ts";
import type { UsageSums } from "../metering/usageSums.ts";
import { runRoutingStep, runSynthesisStep } from "./managerSteps.ts";
import { planAgents } from "./planning.ts";
import type { RosterEntry } from "./roster.ts";
import type { TurnRun } from "./run.ts";

export interface Ending {
  status: TurnStatus;
  error: string | null;
  /** Why the turn ended (SPEC 16). */
  stopReason: TurnStopReason;
}

const BUDGET_ERROR = "Stopped: not enough credits for the next call.";

/** Agents in order; one failing does not stop the others, a call that cannot be held stops them all. */
async function runAgents(run: TurnRun, agents: { agent: RosterEntry; instruction: string | null }[]): Promise<{ succeeded: number; failed: number }> {
  let succeeded = 0;
  let ran = 0;
  for (const { agent, instruction } of agents) {
    ran++;
    if (await runAgentStep(run, agent, instruction)) succeeded++;
    if (run.stopped) break;
  }
  return { succeeded, failed: ran - succeeded };
}

/** The ending of the steps that ran: a turn stopped early (BUDGET) is PARTIAL when a step completed, FAILED otherwise. */
function endingOf(run: TurnRun, counts: { succeeded: number; failed: number }): Ending {
  if (run.stopped) return { status: counts.succeeded > 0 ? "partial" : "failed", error: BUDGET_ERROR, stopReason: run.stopped };
  if (counts.failed === 0) return { status: "completed", error: null, stopReason: "done" };
  if (counts.succeeded === 0) return { status: "failed", error: "Every agent step failed.", stopReason: "done" };
  return { status: "partial", error: `${counts.failed} of ${counts.succeeded + counts.failed} agent steps failed.`, stopReason: "done" };
}

async function runOrchestrated(run: TurnRun): Promise<Ending> {
  const plan = await runRoutingStep(run);
  if (!plan) {
    if (run.stopped) return endingOf(run, { succeeded: 0, failed: 0 });
    return { status: "failed", error: "The manager's routing decision was not valid; no agent ran.", stopReason: "error" };
  }
  const byKey = new Map(run.roster.map((agent) => [agent.agentKey, agent]));
  const counts = await runAgents(run, plan.steps.map((step) => ({ agent: byKey.get(step.agentKey)!, instruction: step.instruction })));
  if (counts.succeeded === 0 || run.stopped) return endingOf(run, counts);
  const synthesized = await runSynthesisStep(run);
  const ending = endingOf(run, counts);
  return synthesized ? ending : { ...ending, status: "partial", error: [ending.error, "The synthesis step failed."].filter(Boolean).join(" ") };
}

async function execute(run: TurnRun): Promise<Ending> {
  if (run.mode === "orchestrator") return runOrchestrated(run);
  const plan = planAgents(run.mode, run.roster, run.userContent);
  if (plan.kind !== "agents") return { status: "failed", error: "No agent to run.", stopReason: "error" };
  return endingOf(run, await runAgents(run, plan.agents.map((agent) => ({ agent, instruction: null }))));
}

export async function runTurn(run: TurnRun): Promise<Ending> {
  // Kept with the turn at accept, as its first event.
  run.services.publish(run.turnId, KEPT_STRIDE, { type: "TurnStarted", mode: run.mode, roster: run.roster }, run.acceptedAt);
  let outcome: Ending | Interruption;
  try {
    outcome = await execute(run);
  } catch (error) {
    outcome = interruptionOf(run, error);
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
    const { rows } = await writeForTurn(run, endTurnStatement(run.turnId, outcome, owner, keptEventCte(run.turnId, sequence, payload, at, "ended_turn")), owner.leaseMs);
    if (rows.length !== 1) return await readEnding(run);
    run.services.publish(run.turnId, sequence, payload, at);
    return outcome;
  } catch (error) {
    logger.error({ turnId: run.turnId, ...errorFields(error) }, "turn end not recorded; the lease sweep will end it");
    return { status: "failed", error: INTERRUPTED_DATABASE_ERROR, stopReason: "interrupted" };
  }
}

function endingPayload(ending: Ending, usage: UsageSums): KeptPayload {
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
