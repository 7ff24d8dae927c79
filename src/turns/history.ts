// Loads the session history a turn's context starts from: the latest summary
// and the raw turns after it (finished turns before this one, shared messages).
// Plain pg: it runs once per turn on the hot path.
import type { HistoryMessage, HistoryTurn } from "../context-budget/assembly.ts";
import { summaryBlock, summaryContract } from "../context-budget/summary.ts";
import type { SessionHistory, TurnRun } from "./run.ts";

interface SummaryRow {
  through_turn_seq: number;
  summary_text: string;
  key_facts: unknown;
  open_questions: unknown;
  decisions: unknown;
  action_items: unknown;
}

interface MessageRow {
  id: string;
  role: HistoryMessage["role"];
  agent_key: string | null;
  content: string;
  seq: number;
}

const LATEST_SUMMARY = `
  SELECT through_turn_seq, summary_text, key_facts, open_questions, decisions, action_items
    FROM session_summaries WHERE session_id = $1 ORDER BY created_at DESC, through_turn_seq DESC LIMIT 1`;

const RAW_MESSAGES = `
  SELECT m.id, m.role, m.agent_key, m.content, t.seq
    FROM messages m JOIN turns t ON t.id = m.turn_id
   WHERE m.session_id = $1 AND m.visibility = 'shared' AND m.role IN ('user', 'agent', 'synthesis')
     AND t.seq > $2 AND t.seq < $3 AND t.status <> 'running'
   ORDER BY m.created_at, m.id`;

export async function loadHistory(run: TurnRun): Promise<SessionHistory> {
  if (run.history) return run.history;
  const { pool } = run.services;
  const sessionId = run.scope.sessionId;
  const latest = (await pool.query<SummaryRow>(LATEST_SUMMARY, [sessionId])).rows[0];
  const throughTurnSeq = latest?.through_turn_seq ?? 0;
  const rows = (await pool.query<MessageRow>(RAW_MESSAGES, [sessionId, throughTurnSeq, run.turnSeq])).rows;
  const bySeq = new Map<number, HistoryMessage[]>();
  for (const row of rows) {
    const messages = bySeq.get(row.seq) ?? [];
    messages.push({ id: row.id, role: row.role, agentKey: row.agent_key, content: row.content });
    bySeq.set(row.seq, messages);
  }
  const turns: HistoryTurn[] = [...bySeq.entries()].sort(([a], [b]) => a - b).map(([seq, messages]) => ({ seq, messages }));
  run.history = { summaryBlock: latest ? summaryBlock(summaryContract.parse(storedSummary(latest))) : null, throughTurnSeq, turns };
  return run.history;
}

function storedSummary(row: SummaryRow) {
  return { summary_text: row.summary_text, key_facts: row.key_facts, open_questions: row.open_questions, decisions: row.decisions, action_items: row.action_items };
}
