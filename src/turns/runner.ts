// Executes an accepted turn by its mode and records how it ended. Runs on the
// server independently of the client that sent the message.
import type { TurnStatus } from "../generated/prisma/client.ts";
import { runAgentStep } from "./agentStep.ts";
import { endTurnCtes } from "./stepSql.ts";
import { writeWithPendingFinish } from "./steps.ts";
import { runRoutingStep, runSynthesisStep } from "./managerSteps.ts";
import { planAgents } from "./planning.ts";
import type { RosterEntry } from "./roster.ts";
import type { TurnRun } from "./run.ts";

interface Ending {
  status: TurnStatus;
  error: string | null;
}

/** Agents in order; one failing does not stop the others. */
async function runAgents(run: TurnRun, agents: { agent: RosterEntry; instruction: string | null }[]): Promise<{ succeeded: number; failed: number }> {
  let succeeded = 0;
  for (const { agent, instruction } of agents) {
    if (await runAgentStep(run, agent, instruction)) succeeded++;
  }
  return { succeeded, failed: agents.length - succeeded };
}

function endingOf(counts: { succeeded: number; failed: number }): Ending {
  if (counts.failed === 0) return { status: "completed", error: null };
  if (counts.succeeded === 0) return { status: "failed", error: "Every agent step failed." };
  return { status: "partial", error: `${counts.failed} of ${counts.succeeded + counts.failed} agent steps failed.` };
}

async function runOrchestrated(run: TurnRun): Promise<Ending> {
  const plan = await runRoutingStep(run);
  if (!plan) return { status: "failed", error: "The manager's routing decision was not valid; no agent ran." };
  const byKey = new Map(run.roster.map((agent) => [agent.agentKey, agent]));
  const counts = await runAgents(run, plan.steps.map((step) => ({ agent: byKey.get(step.agentKey)!, instruction: step.instruction })));
  if (counts.succeeded === 0) return endingOf(counts);
  const synthesized = await runSynthesisStep(run);
  const ending = endingOf(counts);
  return synthesized ? ending : { status: "partial", error: [ending.error, "The synthesis step failed."].filter(Boolean).join(" ") };
}

async function execute(run: TurnRun): Promise<Ending> {
  if (run.mode === "orchestrator") return runOrchestrated(run);
  const plan = planAgents(run.mode, run.roster, run.userContent);
  if (plan.kind !== "agents") return { status: "failed", error: "No agent to run." };
  return endingOf(await runAgents(run, plan.agents.map((agent) => ({ agent, instruction: null }))));
}

export async function runTurn(run: TurnRun): Promise<void> {
  const { bus } = run.services;
  bus.emit(run.turnId, { type: "TurnStarted", mode: run.mode, roster: run.roster });
  let ending: Ending;
  try {
    ending = await execute(run);
  } catch (error) {
    // Unexpected (database down, bug): the turn ends failed with a generic reason; details stay server-side.
    console.error(`turn ${run.turnId} stopped:`, error);
    ending = { status: "failed", error: "The turn stopped because of an internal error." };
  }
  try {
    // The last step's result commits in the same statement that ends the turn.
    await writeWithPendingFinish(run, endTurnCtes(run.turnId, ending.status, ending.error, run.pendingFinish?.stepId ?? null));
  } catch (error) {
    // The last step's write failed (it was retried alone): the turn still ends, failed.
    console.error(`turn ${run.turnId} could not record its last step:`, error);
    ending = { status: "failed", error: "The turn stopped because of an internal error." };
    await writeWithPendingFinish(run, endTurnCtes(run.turnId, ending.status, ending.error, null));
  }
  if (ending.status === "failed") bus.emit(run.turnId, { type: "TurnFailed", error: ending.error ?? "The turn failed." });
  else bus.emit(run.turnId, { type: "TurnCompleted", status: ending.status });
}
