// Fits one agent call's context into its model's input budget: summarize the
// eligible history (≥ 70% of budget, or 8 turns since the last summary; the
// last 4 turns stay raw), prune if still ≥ 90%, flag overflow if still over.
import type { ChatMessage } from "../llm/types.ts";
import { assemble, estimateSources, type ContextSources, type HistoryTurn } from "./assembly.ts";
import { KEEP_RAW_TURNS, PRUNE_TRIGGER_SHARE, reaches, SUMMARY_EVERY_TURNS, SUMMARY_TRIGGER_SHARE, type BudgetLimits } from "./budget.ts";
import { prune } from "./prune.ts";

export interface ContextAudit {
  limits: BudgetLimits;
  estimateBefore: number;
  estimateAfterSummary: number;
  estimateAfterPrune: number;
  summarized: boolean;
  pruned: boolean;
  overflow: boolean;
}

export interface ContextPlan {
  messages: ChatMessage[];
  audit: ContextAudit;
}

/** Summarizes the given turns and returns the context block that replaces them. */
export type Summarize = (turns: HistoryTurn[]) => Promise<string>;

export function needsSummary(sources: ContextSources, estimate: number, limits: BudgetLimits): boolean {
  const turnsSinceSummary = sources.history.length;
  if (turnsSinceSummary <= KEEP_RAW_TURNS) return false;
  return reaches(estimate, limits, SUMMARY_TRIGGER_SHARE) || turnsSinceSummary >= SUMMARY_EVERY_TURNS;
}

export async function planContext(sources: ContextSources, limits: BudgetLimits, summarize: Summarize): Promise<ContextPlan> {
  const estimateBefore = estimateSources(sources);
  let current = sources;
  let summarized = false;
  if (limits.inputBudget > 0 && needsSummary(sources, estimateBefore, limits)) {
    const eligible = sources.history.slice(0, -KEEP_RAW_TURNS);
    const block = await summarize(eligible);
    current = { ...sources, summaryBlock: block, history: sources.history.slice(-KEEP_RAW_TURNS) };
    summarized = true;
  }
  const estimateAfterSummary = estimateSources(current);
  let pruned = false;
  if (reaches(estimateAfterSummary, limits, PRUNE_TRIGGER_SHARE)) {
    const result = prune(current, limits.inputBudget * PRUNE_TRIGGER_SHARE);
    current = result.sources;
    pruned = result.droppedCount > 0;
  }
  const estimateAfterPrune = estimateSources(current);
  const overflow = limits.inputBudget <= 0 || estimateAfterPrune > limits.inputBudget;
  return {
    messages: assemble(current),
    audit: { limits, estimateBefore, estimateAfterSummary, estimateAfterPrune, summarized, pruned, overflow },
  };
}
