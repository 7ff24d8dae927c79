// Summarizes eligible history for the context budget. The summarizer call is
// an LLM call: its ledger row commits with the stored summary, in one statement. A failed call
// or an output that breaks the contract falls back to deterministic truncation.
import type { HistoryTurn } from "../context-budget/assembly.ts";
import { parseSummary, summaryBlock, truncationSummary } from "../context-budget/summary.ts";
import type { Summarize } from "../context-budget/plan.ts";
import type { StartedStep, TurnRun } from "./run.ts";
import { summaryRequest } from "./requests.ts";
import { callForStep, meterCall } from "./steps.ts";
import { summaryInsertCtes } from "./summarySql.ts";

export function summarizerFor(run: TurnRun, step: StartedStep): Summarize {
  return async (turns: HistoryTurn[]) => {
    const attempt = await callForStep(run, step, summaryRequest(step.modelAlias, turns, run.services.outputLimits));
    const fromModel = attempt.status === "success" ? parseSummary(attempt.text) : null;
    const content = fromModel ?? truncationSummary(turns);
    const throughTurnSeq = turns.at(-1)!.seq;
    const block = summaryBlock(content);
    await meterCall(
      run,
      step,
      attempt,
      summaryInsertCtes({ sessionId: run.scope.sessionId, turnId: run.turnId, stepId: step.id, throughTurnSeq, source: fromModel ? "model" : "truncation", content, block }),
    );
    const history = run.history;
    run.history = { summaryBlock: block, throughTurnSeq, turns: history.turns.filter((turn) => turn.seq > throughTurnSeq) };
    return block;
  };
}
