// What a message would cost, before it is sent and without any provider call
// (SPEC 13): the least, a likely figure and the most (the hold a send places).
//   min: every planned call reads only what is pinned (system layers, room
//     frame, the message) and answers in one token; orchestrator: the routing
//     call alone (a turn whose routing fails ends there). A provider that fails
//     every call costs nothing, which no estimate promises.
//   expected: each planned agent reads the pinned prompt, the session's history
//     and the earlier answers of the turn (capped at its input budget) and
//     answers with the user's mean output on that model over 30 days (a quarter
//     of the output cap without history); orchestrator: routing, every roster
//     agent once, and the synthesis. No summaries, no retries.
//   max: turnHold (turnHold.ts).
import { Prisma } from "../generated/prisma/client.ts";
import { budgetFor } from "../context-budget/budget.ts";
import type { ModelAliasName } from "../llm/models.ts";
import { creditsFor, oeTokens } from "../metering/charge.ts";
import { CURRENT_PRICING_VERSION, pricingVersion } from "../metering/pricing.ts";
import { ROUTING_MAX_OUTPUT_TOKENS } from "./routing.ts";
import { SYNTHESIS_MAX_OUTPUT_TOKENS } from "./managerSteps.ts";
import { turnHold, type HoldLimits, type TurnCalls } from "./turnHold.ts";

const Decimal = Prisma.Decimal;
type Decimal = Prisma.Decimal;

export interface PlannedCall {
  alias: ModelAliasName;
  /** Estimated tokens of what the call always reads: system layers, room frame, the message. */
  pinnedTokens: number;
}

export interface EstimateInputs {
  calls: TurnCalls;
  /** Orchestrator: the manager's planned calls read the message; agents listed in roster order. */
  planned: PlannedCall[];
  managerPinnedTokens: number;
  /** Estimated tokens of the history the turn would start from. */
  historyTokens: number;
  /** The user's mean output tokens per successful agent call, by model, when known. */
  meanOutput: Partial<Record<ModelAliasName, number>>;
  limits: HoldLimits;
}

export interface CostEstimate {
  min: Decimal;
  expected: Decimal;
  max: Decimal;
}

function charge(alias: ModelAliasName, input: number, output: number): Decimal {
  const version = pricingVersion(CURRENT_PRICING_VERSION)!;
  return creditsFor(oeTokens({ fresh: Math.max(0, Math.round(input)), cached: 0, output: Math.max(0, Math.round(output)) }, version), alias, version);
}

function likelyOutput(alias: ModelAliasName, cap: number, inputs: EstimateInputs): number {
  return Math.min(cap, inputs.meanOutput[alias] ?? Math.round(cap / 4));
}

export function estimateTurnCost(inputs: EstimateInputs): CostEstimate {
  const max = turnHold(inputs.calls, inputs.limits);
  let expected = new Decimal(0);
  let earlierAnswers = 0;
  for (const call of inputs.planned) {
    const limits = budgetFor(call.alias, inputs.limits.contextMaxOutputTokens);
    const output = likelyOutput(call.alias, limits.outputReserve, inputs);
    expected = expected.add(charge(call.alias, Math.min(limits.inputBudget, call.pinnedTokens + inputs.historyTokens + earlierAnswers), output));
    earlierAnswers += output;
  }
  if (inputs.calls.kind === "manager") {
    const manager = inputs.calls.managerAlias;
    const routing = charge(manager, inputs.managerPinnedTokens, Math.min(ROUTING_MAX_OUTPUT_TOKENS, 200));
    const synthesisCap = Math.min(SYNTHESIS_MAX_OUTPUT_TOKENS, inputs.limits.contextMaxOutputTokens);
    expected = expected.add(routing).add(charge(manager, inputs.managerPinnedTokens + earlierAnswers, likelyOutput(manager, synthesisCap, inputs)));
    return { min: Decimal.min(charge(manager, inputs.managerPinnedTokens, 1), max), expected: Decimal.min(expected, max), max };
  }
  const min = inputs.planned.reduce((sum, call) => sum.add(charge(call.alias, call.pinnedTokens, 1)), new Decimal(0));
  return { min: Decimal.min(min, max), expected: Decimal.min(Decimal.max(expected, min), max), max };
}
