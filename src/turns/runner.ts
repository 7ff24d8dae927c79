// Executes an accepted turn by its mode and records how it ended. Runs on the
// server independently of the client that sent the message.
import type { TurnStatus } from "../generated/prisma/client.ts";
import { runAgentStep } from "./agentStep.ts";
import { runRoutingStep, runSynthesisStep } from "./managerSteps.ts";
import { planAgents } from "./planning.ts";
import type { RosterEntry } from "./roster.ts";
import type { TurnRun } from "./run.ts";

/** Ends the turn and, atomically, any step an unexpected error left running. */
const FINISH_TURN = `
  WITH turn AS (
    UPDATE turns SET status = $2::turn_status, error = $3, completed_at = now(), updated_at = now() WHERE id = $1 RETURNING id),
  leftover AS (
    UPDATE turn_steps SET status = 'failed', error = 'The turn ended before this step finished.', completed_at = now(), updated_at = now()
     WHERE turn_id = $1 AND status = 'running' RETURNING id)
  SELECT (SELECT count(*) FROM turn)::int AS turns`;

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
  const { pool, bus } = run.services;
  bus.emit(run.turnId, { type: "TurnStarted", mode: run.mode, roster: run.roster });
  let ending: Ending;
  try {
    ending = await execute(run);
  } catch (error) {
    // Unexpected (database down, bug): the turn ends failed with a generic reason; details stay server-side.
    console.error(`turn ${run.turnId} stopped:`, error);
    ending = { status: "failed", error: "The turn stopped because of an internal error." };
  }
  await pool.query(FINISH_TURN, [run.turnId, ending.status, ending.error]);
  if (ending.status === "failed") bus.emit(run.turnId, { type: "TurnFailed", error: ending.error ?? "The turn failed." });
  else bus.emit(run.turnId, { type: "TurnCompleted", status: ending.status });
}
