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

/** The history turns a summary replaces before this call, or null when none is due (a pure decision: accept makes it too). */
export function summaryDue(sources: ContextSources, limits: BudgetLimits, estimate = estimateSources(sources)): HistoryTurn[] | null {
  if (limits.inputBudget <= 0 || !needsSummary(sources, estimate, limits)) return null;
  return sources.history.slice(0, -KEEP_RAW_TURNS);
}

/** Prunes if still ≥ 90% of the budget and assembles the messages; no call is made. */
export function fitContext(sources: ContextSources, limits: BudgetLimits, before: { estimateBefore: number; summarized: boolean } = { estimateBefore: estimateSources(sources), summarized: false }): ContextPlan {
  let current = sources;
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
    audit: { limits, estimateBefore: before.estimateBefore, estimateAfterSummary, estimateAfterPrune, summarized: before.summarized, pruned, overflow },
  };
}

export async function planContext(sources: ContextSources, limits: BudgetLimits, summarize: Summarize): Promise<ContextPlan> {
  const estimateBefore = estimateSources(sources);
  const eligible = summaryDue(sources, limits, estimateBefore);
  if (!eligible) return fitContext(sources, limits, { estimateBefore, summarized: false });
  const block = await summarize(eligible);
  return fitContext({ ...sources, summaryBlock: block, history: sources.history.slice(-KEEP_RAW_TURNS) }, limits, { estimateBefore, summarized: true });
}
