// The request of each kind of call a turn makes, built from plain values, so
// accept can compute the first call's bound (and hold it) from the very
// request the runner will send (SPEC 14). Output caps come from the call
// kinds table.
import type { ContextSources, HistoryMessage, HistoryTurn } from "../context-budget/assembly.ts";
import { fitContext, summaryDue } from "../context-budget/plan.ts";
import { budgetFor } from "../context-budget/budget.ts";
import { transcriptOf, SUMMARY_SCHEMA_NAME, summaryJsonSchema } from "../context-budget/summary.ts";
import type { ModelAliasName } from "../llm/models.ts";
import type { ChatMessage, LlmRequest } from "../llm/types.ts";
import { outputCapOf, type OutputLimits } from "../metering/callKinds.ts";
import { agentLayers, managerRoutingPrompt, roomFrame, roundDecisionPrompt, SUMMARIZER_PROMPT, SYNTHESIS_PROMPT } from "./prompts.ts";
import type { RosterEntry } from "./roster.ts";
import { ROUTING_SCHEMA_NAME, routingJsonSchema } from "./routingContract.ts";
import { ROUND_DECISION_SCHEMA_NAME, roundDecisionJsonSchema, type RoundStanding } from "./roundDecision.ts";
import { DEFAULT_TURN_LIMITS, type TurnLimits } from "./turnLimits.ts";
import type { SessionHistory } from "./run.ts";
import type { SessionScope } from "./planning.ts";

export type TurnRequest = Omit<LlmRequest, "onDelta">;

export function agentRequest(alias: ModelAliasName, messages: ChatMessage[], limits: OutputLimits): TurnRequest {
  return { modelAlias: alias, callKind: "agent", maxOutputTokens: outputCapOf("agent", alias, limits), messages };
}

export function summaryRequest(alias: ModelAliasName, turns: HistoryTurn[], limits: OutputLimits): TurnRequest {
  return {
    modelAlias: alias,
    callKind: "summary",
    maxOutputTokens: outputCapOf("summary", alias, limits),
    messages: [
      { role: "system", content: SUMMARIZER_PROMPT },
      { role: "user", content: transcriptOf(turns) },
    ],
    structured: { name: SUMMARY_SCHEMA_NAME, schema: summaryJsonSchema },
  };
}

export function routingRequest(managerAlias: ModelAliasName, roster: RosterEntry[], content: string, limits: OutputLimits, turnLimits: TurnLimits = DEFAULT_TURN_LIMITS): TurnRequest {
  return {
    modelAlias: managerAlias,
    callKind: "manager_route",
    maxOutputTokens: outputCapOf("manager_route", managerAlias, limits),
    messages: [
      { role: "system", content: managerRoutingPrompt(roster, turnLimits) },
      { role: "user", content },
    ],
    structured: { name: ROUTING_SCHEMA_NAME, schema: routingJsonSchema(roster.map((agent) => agent.agentKey), turnLimits) },
  };
}

/** The manager's continue-or-stop call after a round (SPEC 16): it reads the message and every answer so far. */
export function roundDecisionRequest(
  managerAlias: ModelAliasName,
  roster: RosterEntry[],
  content: string,
  answers: { agentKey: string | null; content: string }[],
  standing: RoundStanding,
  turnLimits: TurnLimits,
  limits: OutputLimits,
): TurnRequest {
  const text = answers.map((answer) => `@${answer.agentKey}: ${answer.content}`).join("\n\n");
  return {
    modelAlias: managerAlias,
    callKind: "manager_continue",
    maxOutputTokens: outputCapOf("manager_continue", managerAlias, limits),
    messages: [
      { role: "system", content: roundDecisionPrompt(roster, standing, turnLimits) },
      { role: "user", content: `User message:\n${content}\n\nAgents' answers so far:\n${text}` },
    ],
    structured: { name: ROUND_DECISION_SCHEMA_NAME, schema: roundDecisionJsonSchema(roster.map((agent) => agent.agentKey), turnLimits.maxInvocations) },
  };
}

export function synthesisRequest(managerAlias: ModelAliasName, content: string, answers: { agentKey: string | null; content: string }[], limits: OutputLimits): TurnRequest {
  const text = answers.map((answer) => `@${answer.agentKey}: ${answer.content}`).join("\n\n");
  return {
    modelAlias: managerAlias,
    callKind: "synthesis",
    maxOutputTokens: outputCapOf("synthesis", managerAlias, limits),
    messages: [
      { role: "system", content: SYNTHESIS_PROMPT },
      { role: "user", content: `User message:\n${content}\n\nAgents' answers:\n${text}` },
    ],
  };
}

/** What an agent's call reads: the turn's frame, the session's history, the turn's earlier answers, the message. */
export interface AgentCallInput {
  mode: string;
  room: { name: string; goal: string } | null;
  history: SessionHistory;
  content: string;
  /** The earlier answers of this turn (none for its first call). */
  answers?: HistoryMessage[];
  /** The manager's instruction to the agent (orchestrator). */
  instruction?: string | null;
}

/** A session with nothing said yet: what a call always reads (its pinned part) is built on it. */
export const NO_HISTORY: SessionHistory = { summaryBlock: null, throughTurnSeq: 0, turns: [] };

/** An agent call's context, in the assembly order of SPEC 6 (context-budget/assembly.ts). */
export function agentSources(agent: RosterEntry, input: AgentCallInput): ContextSources {
  return {
    systemLayers: agentLayers(input.mode, agent, input.instruction ?? null),
    roomFrame: roomFrame(input.room, input.mode),
    summaryBlock: input.history.summaryBlock,
    history: input.history.turns,
    unresolvedTurn: input.answers ?? [],
    currentMessage: input.content,
  };
}

/**
 * The first call an agent's step makes when nothing of the turn precedes it:
 * the summary when one is due, else its answer (the context pruned to fit).
 * Null when the context cannot fit (the step fails without a call).
 */
export function firstAgentCall(agent: RosterEntry, input: AgentCallInput, limits: OutputLimits): TurnRequest | null {
  const budget = budgetFor(agent.modelAlias, limits.contextMaxOutputTokens);
  const sources = agentSources(agent, input);
  const due = summaryDue(sources, budget);
  if (due) return summaryRequest(agent.modelAlias, due, limits);
  const plan = fitContext(sources, budget);
  return plan.audit.overflow ? null : agentRequest(agent.modelAlias, plan.messages, limits);
}

/** What decides a turn's first call. `agents`: those the message runs without a manager; null in orchestrator mode. */
export interface FirstCallInput {
  scope: SessionScope;
  agents: RosterEntry[] | null;
  managerAlias: ModelAliasName;
  history: SessionHistory;
  content: string;
  limits: OutputLimits;
}

/** The turn's first call, whose bound accept holds: the routing call, or the first agent's (its summary when one is due). */
export function firstCallOf(input: FirstCallInput): TurnRequest | null {
  const { scope, history, content, limits } = input;
  if (!input.agents) return routingRequest(input.managerAlias, scope.roster, content, limits, scope.turnLimits);
  return firstAgentCall(input.agents[0]!, { mode: scope.mode, room: scope.room, history, content }, limits);
}
