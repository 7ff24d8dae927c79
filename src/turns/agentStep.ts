// One agent step: fit the context into the agent's budget (summary, prune,
// overflow), call the agent's model, then commit output, transcript message,
// context audit and ledger row together. A call that cannot be held ends the
// step, and the turn stops with BUDGET (SPEC 14); so does a halted turn
// (cancel, time limit: halt.ts).
import { budgetFor } from "../context-budget/budget.ts";
import { fitContext, planContext, summaryDue } from "../context-budget/plan.ts";
import { budgetExceeded } from "../context-budget/overflow.ts";
import { agentRequest, agentSources, summaryRequest } from "./requests.ts";
import { summarizerFor } from "./summarizer.ts";
import { callForStep, finishStep, startStep, stepErrorOf, unlessNotStarted } from "./steps.ts";
import type { RosterEntry } from "./roster.ts";
import type { TurnRun } from "./run.ts";
import type { LlmRequest } from "../llm/types.ts";

/** What an agent's step is asked, computed before it starts: its first call is held by the start. */
function prepareAgentStep(run: TurnRun, agent: RosterEntry, instruction: string | null): PreparedAgentStep {
  const { outputLimits } = run.services;
  const limits = budgetFor(agent.modelAlias, outputLimits.contextMaxOutputTokens);
  const sources = agentSources(agent, { mode: run.mode, room: run.room, history: run.history, content: run.userContent, answers: run.outputs, instruction });
  // The step's first call, held as the step starts: its summary when one is due, else its answer on the context as fitted.
  const due = summaryDue(sources, limits);
  const fitted = due ? null : fitContext(sources, limits);
  const firstCall = due ? summaryRequest(agent.modelAlias, due, outputLimits) : fitted && !fitted.audit.overflow ? agentRequest(agent.modelAlias, fitted.messages, outputLimits) : null;
  return { limits, sources, fitted, firstCall };
}

export interface PreparedAgentStep {
  limits: ReturnType<typeof budgetFor>;
  sources: ReturnType<typeof agentSources>;
  fitted: ReturnType<typeof fitContext> | null;
  firstCall: LlmRequest | null;
}

/** An agent that runs after this one. */
export interface FollowingAgent {
  agent: RosterEntry;
  instruction: string | null;
}

/** Whether the step answered; and the next agent's step as prepared for its start, which its own run then uses. */
export interface AgentStepOutcome {
  ok: boolean;
  nextPrepared: PreparedAgentStep | null;
}

/**
 * Runs the agent's step. With `next`, the next agent's step starts in the
 * statement that records this one's answer (steps.ts finishStep), after that
 * answer was added to what it sees; `prepared` is this step as the previous
 * one prepared it (nothing the preparation reads changes in between).
 */
export async function runAgentStep(
  run: TurnRun,
  agent: RosterEntry,
  instruction: string | null,
  next: FollowingAgent | null = null,
  prepared: PreparedAgentStep | null = null,
): Promise<AgentStepOutcome> {
  const { outputLimits } = run.services;
  const { limits, sources, fitted, firstCall } = prepared ?? prepareAgentStep(run, agent, instruction);
  let nextPrepared: PreparedAgentStep | null = null;
  const step = await startStep(run, "agent", agent, agent.modelAlias, firstCall);
  const ran = await unlessNotStarted(run, step, async () => {
    const plan = fitted ?? (await planContext(sources, limits, summarizerFor(run, step)));
    const audit = plan.audit;
    if (audit.overflow) {
      const error = budgetExceeded(agent.modelAlias, limits.inputBudget, audit.estimateAfterPrune).message;
      await finishStep(run, step, null, { status: "failed", output: null, error }, { audit });
      return false;
    }
    const attempt = await callForStep(run, step, agentRequest(agent.modelAlias, plan.messages, outputLimits));
    const ok = attempt.status === "success";
    const result = ok ? { status: "completed" as const, output: attempt.text, error: null } : { status: "failed" as const, output: null, error: stepErrorOf(run, attempt) };
    if (ok) run.outputs.push({ id: step.id, role: "agent", agentKey: agent.agentKey, content: attempt.text });
    nextPrepared = next && !run.stopped ? prepareAgentStep(run, next.agent, next.instruction) : null;
    const following = next && nextPrepared ? { kind: "agent" as const, agent: next.agent, modelAlias: next.agent.modelAlias, firstCall: nextPrepared.firstCall } : null;
    await finishStep(run, step, attempt, result, { audit, message: ok ? { role: "agent", content: attempt.text } : undefined }, following);
    return ok;
  });
  return { ok: ran ?? false, nextPrepared };
}
