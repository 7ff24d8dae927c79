// One agent step: fit the context into the agent's budget (summary, prune,
// overflow), call the agent's model, then commit output, transcript message,
// context audit and ledger row together. A call that cannot be held ends the
// step, and the turn stops with BUDGET (SPEC 14).
import { budgetFor } from "../context-budget/budget.ts";
import { planContext } from "../context-budget/plan.ts";
import { budgetExceeded } from "../context-budget/overflow.ts";
import { CallUnfunded } from "../credits/callFunding.ts";
import { agentLayers, roomFrame } from "./prompts.ts";
import { agentRequest } from "./requests.ts";
import { summarizerFor } from "./summarizer.ts";
import { callForStep, finishStep, finishUnfunded, startStep } from "./steps.ts";
import type { RosterEntry } from "./roster.ts";
import type { TurnRun } from "./run.ts";

export async function runAgentStep(run: TurnRun, agent: RosterEntry, instruction: string | null): Promise<boolean> {
  const step = await startStep(run, "agent", agent, agent.modelAlias);
  const history = run.history;
  const limits = budgetFor(agent.modelAlias, run.services.outputLimits.contextMaxOutputTokens);
  const sources = {
    systemLayers: agentLayers(run.mode, agent, instruction),
    roomFrame: roomFrame(run.room, run.mode),
    summaryBlock: history.summaryBlock,
    history: history.turns,
    unresolvedTurn: run.outputs,
    currentMessage: run.userContent,
  };
  try {
    const plan = await planContext(sources, limits, summarizerFor(run, step));
    const audit = plan.audit;
    if (audit.overflow) {
      const error = budgetExceeded(agent.modelAlias, limits.inputBudget, audit.estimateAfterPrune).message;
      await finishStep(run, step, null, { status: "failed", output: null, error }, { audit });
      return false;
    }
    const attempt = await callForStep(run, step, agentRequest(agent.modelAlias, plan.messages, run.services.outputLimits));
    const ok = attempt.status === "success";
    const result = ok ? { status: "completed" as const, output: attempt.text, error: null } : { status: "failed" as const, output: null, error: attempt.errorMessage };
    await finishStep(run, step, attempt, result, { audit, message: ok ? { role: "agent", content: attempt.text } : undefined });
    if (ok) run.outputs.push({ id: step.id, role: "agent", agentKey: agent.agentKey, content: attempt.text });
    return ok;
  } catch (error) {
    if (!(error instanceof CallUnfunded)) throw error;
    await finishUnfunded(run, step, error);
    return false;
  }
}
