// The most a turn can cost (SPEC 13), held when it is accepted. Every call
// the turn may make is counted at its ceiling: all of its model's window
// that the output leaves as fresh input (the budget of SPEC 6 plus the
// overhead reserve, which is the margin for the estimator's error: a
// provider accepts nothing beyond the window) and its whole output cap,
// priced like a ledger row, times the attempts the gateway may make.
//   roundtable / manual: each planned agent's call, and a summary call on
//     the agent's model before it (one may be due at any agent call);
//   orchestrator: routing and one repair on the manager model, up to
//     MAX_INVOCATIONS_PER_TURN calls of the roster's costliest agent (each
//     with its summary), and the synthesis on the manager model.
// The charge of a call is monotonic in its tokens, so no call's row can
// exceed its ceiling, and the turn's debits cannot exceed the hold.
import { Prisma } from "../generated/prisma/client.ts";
import { budgetFor } from "../context-budget/budget.ts";
import { contextLimitOf, type ModelAliasName } from "../llm/models.ts";
import { creditsFor, oeTokens } from "../metering/charge.ts";
import { CURRENT_PRICING_VERSION, pricingVersion } from "../metering/pricing.ts";
import { MAX_INVOCATIONS_PER_TURN } from "./routingContract.ts";
import { ROUTING_MAX_OUTPUT_TOKENS } from "./routing.ts";
import { SUMMARY_MAX_OUTPUT_TOKENS } from "./summarizer.ts";
import { SYNTHESIS_MAX_OUTPUT_TOKENS } from "./managerSteps.ts";

const Decimal = Prisma.Decimal;
type Decimal = Prisma.Decimal;

export interface HoldLimits {
  /** CONTEXT_MAX_OUTPUT_TOKENS: caps every agent's output. */
  contextMaxOutputTokens: number;
  /** OPENROUTER_MAX_RETRIES: each call may be attempted 1 + this many times, every attempt metered. */
  maxRetries: number;
}

export type TurnCalls = { kind: "agents"; agents: ModelAliasName[] } | { kind: "manager"; managerAlias: ModelAliasName; roster: ModelAliasName[] };

/** The calls a planned turn may make, by model: the planned agents, or the manager with the roster it picks from. */
export function turnCallsOf(plannedAgents: { modelAlias: ModelAliasName }[], managerAlias: ModelAliasName | null): TurnCalls {
  const aliases = plannedAgents.map((agent) => agent.modelAlias);
  return managerAlias ? { kind: "manager", managerAlias, roster: aliases } : { kind: "agents", agents: aliases };
}

/** The most one provider call on `alias` with at most `maxOutputTokens` can be charged. */
export function callCeiling(alias: ModelAliasName, maxOutputTokens: number): Decimal {
  const version = pricingVersion(CURRENT_PRICING_VERSION)!;
  const input = Math.max(0, contextLimitOf(alias) - maxOutputTokens);
  return creditsFor(oeTokens({ fresh: input, cached: 0, output: maxOutputTokens }, version), alias, version);
}

function agentCallWithSummary(alias: ModelAliasName, limits: HoldLimits): Decimal {
  return callCeiling(alias, budgetFor(alias, limits.contextMaxOutputTokens).outputReserve).add(callCeiling(alias, SUMMARY_MAX_OUTPUT_TOKENS));
}

/** Holds already computed, by calls and limits: a send has one of a few shapes, and every send under enforcement needs its hold. */
const computedHolds = new Map<string, Decimal>();
const MAX_COMPUTED_HOLDS = 1024;

/** The turn's hold in credits, at the ledger's scale. */
export function turnHold(calls: TurnCalls, limits: HoldLimits): Decimal {
  const key = JSON.stringify([calls, limits.contextMaxOutputTokens, limits.maxRetries]);
  let hold = computedHolds.get(key);
  if (hold === undefined) {
    hold = computeTurnHold(calls, limits);
    if (computedHolds.size < MAX_COMPUTED_HOLDS) computedHolds.set(key, hold);
  }
  return hold;
}

function computeTurnHold(calls: TurnCalls, limits: HoldLimits): Decimal {
  let perAttempt: Decimal;
  if (calls.kind === "agents") {
    perAttempt = calls.agents.reduce((sum, alias) => sum.add(agentCallWithSummary(alias, limits)), new Decimal(0));
  } else {
    const costliest = calls.roster.reduce((max, alias) => Decimal.max(max, agentCallWithSummary(alias, limits)), new Decimal(0));
    perAttempt = callCeiling(calls.managerAlias, ROUTING_MAX_OUTPUT_TOKENS)
      .mul(2)
      .add(costliest.mul(MAX_INVOCATIONS_PER_TURN))
      .add(callCeiling(calls.managerAlias, Math.min(SYNTHESIS_MAX_OUTPUT_TOKENS, limits.contextMaxOutputTokens)));
  }
  return perAttempt.mul(1 + limits.maxRetries);
}
