// The session history a turn's context starts from: the latest summary and
// the shared messages of the finished turns after it. Read at accept, in the
// same statement as the session (acceptSql.ts): nothing else can change it
// before the turn runs, since a session runs one turn at a time.
import type { HistoryMessage, HistoryTurn } from "../context-budget/assembly.ts";
import { summaryBlock, summaryContract } from "../context-budget/summary.ts";
import type { HistoryMessageJson, StoredSummaryRow } from "./acceptSql.ts";
import type { SessionHistory } from "./run.ts";

/** Groups messages (already in transcript order) by turn, oldest turn first. */
export function sessionHistory(summary: StoredSummaryRow | null, messages: HistoryMessageJson[]): SessionHistory {
  const bySeq = new Map<number, HistoryMessage[]>();
  for (const { seq, ...message } of messages) {
    const turn = bySeq.get(seq) ?? [];
    turn.push(message);
    bySeq.set(seq, turn);
  }
  const turns: HistoryTurn[] = [...bySeq.entries()].sort(([a], [b]) => a - b).map(([seq, entries]) => ({ seq, messages: entries }));
  return {
    summaryBlock: summary ? summaryBlock(summaryContract.parse(storedSummary(summary))) : null,
    throughTurnSeq: summary?.through_turn_seq ?? 0,
    turns,
  };
}

function storedSummary(row: StoredSummaryRow) {
  return { summary_text: row.summary_text, key_facts: row.key_facts, open_questions: row.open_questions, decisions: row.decisions, action_items: row.action_items };
}
