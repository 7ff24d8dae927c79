// Budget math of SPEC section 6, per agent call, from the model registry's
// context limit (unknown models: 8192).
import { contextLimitOf } from "../llm/models.ts";

const OUTPUT_RESERVE_SHARE = 0.2;
const OVERHEAD_RESERVE_SHARE = 0.05;
const MIN_OVERHEAD_RESERVE = 1024;
export const SUMMARY_TRIGGER_SHARE = 0.7;
export const PRUNE_TRIGGER_SHARE = 0.9;
export const SUMMARY_EVERY_TURNS = 8;
export const KEEP_RAW_TURNS = 4;

export interface BudgetLimits {
  contextLimit: number;
  outputReserve: number;
  overheadReserve: number;
  /** May be ≤ 0, which makes every request for this model invalid. */
  inputBudget: number;
}

export function budgetFor(modelAlias: string, maxOutputTokens: number): BudgetLimits {
  const contextLimit = contextLimitOf(modelAlias);
  const outputReserve = Math.min(maxOutputTokens, Math.floor(contextLimit * OUTPUT_RESERVE_SHARE));
  const overheadReserve = Math.max(MIN_OVERHEAD_RESERVE, Math.floor(contextLimit * OVERHEAD_RESERVE_SHARE));
  return { contextLimit, outputReserve, overheadReserve, inputBudget: contextLimit - outputReserve - overheadReserve };
}

/** True when `estimate` reaches `share` of the budget. */
export function reaches(estimate: number, limits: BudgetLimits, share: number): boolean {
  return estimate >= limits.inputBudget * share;
}
