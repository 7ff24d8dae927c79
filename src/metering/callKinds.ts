// The kinds of provider call a turn makes (SPEC 14), and for each: how its
// bound is computed, which ledger records it and which events it sends. Holds
// (credits/callHolds.ts via turns/callFunding.ts), estimates
// (turns/costEstimate.ts), metering (ledger.ts) and the turn's events
// (turns/steps.ts) read this table and nothing else about a kind. A kind added
// to llm/types.ts's CallKind without an entry here, or an entry without its
// bound, does not compile.
import { budgetFor } from "../context-budget/budget.ts";
import type { ModelAliasName } from "../llm/models.ts";
import type { CallKind } from "../llm/types.ts";

/** What the output caps depend on: CONTEXT_MAX_OUTPUT_TOKENS and MIN_OUTPUT_TOKENS. */
export interface OutputLimits {
  contextMaxOutputTokens: number;
  minOutputTokens: number;
}

/** A model call's bound (callBound.ts): its input as sent, its output at most the max_tokens it sends. */
export interface ModelCallBound {
  resource: "model";
  /** The max_tokens a request of this kind sends when the balance allows it. */
  outputCap(alias: ModelAliasName, limits: OutputLimits): number;
  /**
   * The least max_tokens the call is worth making with when the balance is
   * short (spend to the last credit); below it the turn stops with BUDGET. A
   * structured answer cut short is invalid, so those kinds need their cap.
   */
  outputFloor(alias: ModelAliasName, limits: OutputLimits): number;
}

export interface CallKindSpec {
  description: string;
  bound: ModelCallBound;
  /** Where each call's row goes, and the call_kind it carries there. */
  ledger: { table: "llm_call_events"; callKind: CallKind };
  /** Its output streams to subscribers as StepDelta events (structured answers do not). */
  streamsDeltas: boolean;
}

export const SUMMARY_MAX_OUTPUT_TOKENS = 1024;
export const ROUTING_MAX_OUTPUT_TOKENS = 1024;
export const SYNTHESIS_MAX_OUTPUT_TOKENS = 2048;

function fixedCap(tokens: number): ModelCallBound {
  return { resource: "model", outputCap: () => tokens, outputFloor: () => tokens };
}

function lowerable(cap: (alias: ModelAliasName, limits: OutputLimits) => number): ModelCallBound {
  return { resource: "model", outputCap: cap, outputFloor: (alias, limits) => Math.min(limits.minOutputTokens, cap(alias, limits)) };
}

export const CALL_KINDS = {
  agent: {
    description: "An agent answering in its step.",
    bound: lowerable((alias, limits) => budgetFor(alias, limits.contextMaxOutputTokens).outputReserve),
    ledger: { table: "llm_call_events", callKind: "agent" },
    streamsDeltas: true,
  },
  summary: {
    description: "Summarizing a session's older turns before an agent call (SPEC 6).",
    bound: fixedCap(SUMMARY_MAX_OUTPUT_TOKENS),
    ledger: { table: "llm_call_events", callKind: "summary" },
    streamsDeltas: false,
  },
  manager_route: {
    description: "The orchestrator's manager choosing who answers.",
    bound: fixedCap(ROUTING_MAX_OUTPUT_TOKENS),
    ledger: { table: "llm_call_events", callKind: "manager_route" },
    streamsDeltas: false,
  },
  repair: {
    description: "The manager asked once more after an invalid routing answer.",
    bound: fixedCap(ROUTING_MAX_OUTPUT_TOKENS),
    ledger: { table: "llm_call_events", callKind: "repair" },
    streamsDeltas: false,
  },
  manager_continue: {
    description: "The orchestrator's manager deciding, after a round, whether another round runs (SPEC 16).",
    bound: fixedCap(ROUTING_MAX_OUTPUT_TOKENS),
    ledger: { table: "llm_call_events", callKind: "manager_continue" },
    streamsDeltas: false,
  },
  synthesis: {
    description: "The manager's final answer from the agents' answers.",
    bound: lowerable((_alias, limits) => Math.min(SYNTHESIS_MAX_OUTPUT_TOKENS, limits.contextMaxOutputTokens)),
    ledger: { table: "llm_call_events", callKind: "synthesis" },
    streamsDeltas: true,
  },
} as const satisfies { [Kind in CallKind]: CallKindSpec & { ledger: { callKind: Kind } } };

export function outputCapOf(kind: CallKind, alias: ModelAliasName, limits: OutputLimits): number {
  return CALL_KINDS[kind].bound.outputCap(alias, limits);
}

export function outputFloorOf(kind: CallKind, alias: ModelAliasName, limits: OutputLimits): number {
  return CALL_KINDS[kind].bound.outputFloor(alias, limits);
}
