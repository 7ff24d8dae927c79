// What a message would cost, before it is sent and without any provider call
// (SPEC 14), from the same bounds the holds use (metering/callBound.ts):
//   firstCall: the bound of the turn's first call at the current history, what
//     a send holds at accept; required: that bound at its output floor, the
//     least a send needs available under enforcement.
//   max: the sum of the bounds of the calls the turn would make at the current
//     history, each once (a retry or a routing repair is held on its own when
//     it happens): each planned agent's call, with a summary call where one
//     is due, reading the earlier answers of the turn at their output cap;
//     orchestrator: routing, the room's maxInvocations calls of the costliest
//     roster agent, a continue-or-stop call after each round but the last
//     (each reading every answer), and the synthesis. An earlier answer or a
//     summary is counted at BYTES_PER_OUTPUT_TOKEN bytes per token of its
//     cap: answers longer than that in bytes (rare outside code and unusual
//     scripts) make the later calls' real bounds, and holds, larger.
//   min: every planned call reads only what is pinned (system layers, room
//     frame, the message; the estimator's count) and answers in one token;
//     orchestrator: the routing call alone. A provider that fails every call
//     costs nothing, which no estimate promises.
//   expected: each planned agent reads the pinned prompt, the session's
//     history and the turn's earlier answers (capped at its input budget) and
//     answers with the user's mean output on that model over 30 days (a
//     quarter of its cap without history); orchestrator: routing, every
//     roster agent once, and the synthesis. No summaries, no retries.
import { estimatePinned, type HistoryMessage } from "../context-budget/assembly.ts";
import { budgetFor, KEEP_RAW_TURNS } from "../context-budget/budget.ts";
import { fitContext, summaryDue } from "../context-budget/plan.ts";
import type { ModelAliasName } from "../llm/models.ts";
import { estimateTokens } from "../llm/tokenEstimate.ts";
import { callBound, chargeOf, floorBound } from "../metering/callBound.ts";
import { maxUnits, minUnits, type CreditUnits } from "../metering/creditUnits.ts";
import { outputCapOf, type OutputLimits } from "../metering/callKinds.ts";
import type { SessionScope } from "./planning.ts";
import { managerRoutingPrompt } from "./prompts.ts";
import { agentRequest, agentSources, firstCallOf, NO_HISTORY, roundDecisionRequest, routingRequest, summaryRequest, synthesisRequest } from "./requests.ts";
import type { RosterEntry } from "./roster.ts";
import type { SessionHistory } from "./run.ts";

/** How many bytes an answer not yet given is counted at, per token of its cap. */
export const BYTES_PER_OUTPUT_TOKEN = 4;

export interface EstimateInputs {
  scope: SessionScope;
  /** The agents the message runs without a manager; null in orchestrator mode. */
  agents: RosterEntry[] | null;
  managerAlias: ModelAliasName;
  history: SessionHistory;
  content: string;
  /** The user's mean output tokens per successful agent call, by model, when known. */
  meanOutput: Partial<Record<ModelAliasName, number>>;
  limits: OutputLimits;
}

/** Credits at the ledger's scale. */
export interface CostEstimate {
  min: CreditUnits;
  expected: CreditUnits;
  max: CreditUnits;
  firstCall: CreditUnits;
  required: CreditUnits;
}

/** A turn's calls as the runner would make them, with answers not yet given at their caps. */
class TurnSimulation {
  private history: SessionHistory;
  readonly answers: HistoryMessage[] = [];
  total: CreditUnits = 0n;

  constructor(private readonly input: EstimateInputs) {
    this.history = input.history;
  }

  /** The bounds of one agent invocation (its summary when due, and its call), without recording it. */
  invocation(agent: RosterEntry): { bound: CreditUnits; summarized: SessionHistory | null } {
    const { scope, limits } = this.input;
    const budget = budgetFor(agent.modelAlias, limits.contextMaxOutputTokens);
    let sources = agentSources(agent, { mode: scope.mode, room: scope.room, history: this.history, content: this.input.content, answers: this.answers });
    let bound: CreditUnits = 0n;
    let summarized: SessionHistory | null = null;
    const due = summaryDue(sources, budget);
    if (due) {
      bound += callBound(summaryRequest(agent.modelAlias, due, limits)).credits;
      const block = "s".repeat(outputCapOf("summary", agent.modelAlias, limits) * BYTES_PER_OUTPUT_TOKEN);
      summarized = { summaryBlock: block, throughTurnSeq: due.at(-1)!.seq, turns: this.history.turns.slice(-KEEP_RAW_TURNS) };
      sources = { ...sources, summaryBlock: block, history: summarized.turns };
    }
    const plan = fitContext(sources, budget);
    if (!plan.audit.overflow) bound += callBound(agentRequest(agent.modelAlias, plan.messages, limits)).credits;
    return { bound, summarized };
  }

  run(agent: RosterEntry): void {
    const { bound, summarized } = this.invocation(agent);
    this.total += bound;
    if (summarized) this.history = summarized;
    this.answers.push({ id: `answer-${this.answers.length}`, role: "agent", agentKey: agent.agentKey, content: "x".repeat(outputCapOf("agent", agent.modelAlias, this.input.limits) * BYTES_PER_OUTPUT_TOKEN) });
  }

  /** Runs whichever roster agent costs most at this point. */
  runCostliest(roster: RosterEntry[]): void {
    let costliest = roster[0]!;
    let most = -1n;
    for (const agent of roster) {
      const { bound } = this.invocation(agent);
      if (bound > most) [costliest, most] = [agent, bound];
    }
    this.run(costliest);
  }
}

function maxCost(input: EstimateInputs): CreditUnits {
  const simulation = new TurnSimulation(input);
  if (input.agents) {
    for (const agent of input.agents) simulation.run(agent);
    return simulation.total;
  }
  const { managerAlias, scope, content, limits } = input;
  const { turnLimits } = scope;
  for (let invocation = 0; invocation < turnLimits.maxInvocations; invocation++) simulation.runCostliest(scope.roster);
  // Every decision is counted as reading every answer: none reads more.
  const standing = { round: 1, invocationsLeft: turnLimits.maxInvocations, perAgentLeft: new Map(scope.roster.map((agent) => [agent.agentKey, turnLimits.maxPerAgent])) };
  const decision = callBound(roundDecisionRequest(managerAlias, scope.roster, content, simulation.answers, standing, turnLimits, limits)).credits;
  return (
    simulation.total +
    callBound(routingRequest(managerAlias, scope.roster, content, limits, turnLimits)).credits +
    decision * BigInt(turnLimits.maxRounds - 1) +
    callBound(synthesisRequest(managerAlias, content, simulation.answers, limits)).credits
  );
}

function charge(alias: ModelAliasName, input: number, output: number): CreditUnits {
  return chargeOf(alias, Math.max(0, Math.round(input)), Math.max(0, Math.round(output)));
}

function historyTokens(history: SessionHistory): number {
  const text = [history.summaryBlock ?? "", ...history.turns.flatMap((turn) => turn.messages.map((message) => message.content))].join("");
  return estimateTokens(text);
}

export function estimateTurnCost(input: EstimateInputs): CostEstimate {
  const { scope, content, limits } = input;
  const first = firstCallOf(input);
  let firstCall: CreditUnits = 0n;
  // What its hold needs at least (credits/callFunding.ts holds the same floor bound).
  let required: CreditUnits = 0n;
  if (first) {
    const bound = callBound(first);
    firstCall = bound.credits;
    required = floorBound(first, bound.inputTokens, limits);
  }
  const max = maxUnits(maxCost(input), firstCall);
  const agents = input.agents ?? scope.roster;
  const pinned = (agent: RosterEntry) => estimatePinned(agentSources(agent, { mode: scope.mode, room: scope.room, history: NO_HISTORY, content }));
  const likely = (alias: ModelAliasName, cap: number) => Math.min(cap, input.meanOutput[alias] ?? Math.round(cap / 4));
  const fromHistory = historyTokens(input.history);
  let expected: CreditUnits = 0n;
  let earlierAnswers = 0;
  for (const agent of agents) {
    const budget = budgetFor(agent.modelAlias, limits.contextMaxOutputTokens);
    const output = likely(agent.modelAlias, outputCapOf("agent", agent.modelAlias, limits));
    expected += charge(agent.modelAlias, Math.min(budget.inputBudget, pinned(agent) + fromHistory + earlierAnswers), output);
    earlierAnswers += output;
  }
  if (!input.agents) {
    const manager = input.managerAlias;
    const managerPinned = estimateTokens(managerRoutingPrompt(scope.roster, scope.turnLimits)) + estimateTokens(content);
    const routing = charge(manager, managerPinned, Math.min(outputCapOf("manager_route", manager, limits), 200));
    expected += routing + charge(manager, managerPinned + earlierAnswers, likely(manager, outputCapOf("synthesis", manager, limits)));
    return { min: minUnits(charge(manager, managerPinned, 1), max), expected: minUnits(expected, max), max, firstCall, required };
  }
  const min = agents.reduce((sum, agent) => sum + charge(agent.modelAlias, pinned(agent), 1), 0n);
  return { min: minUnits(min, max), expected: minUnits(maxUnits(expected, min), max), max, firstCall, required };
}
