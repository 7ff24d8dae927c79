// The write of a context summary: the stored summary and its transcript
// message, as CTEs of the statement that also inserts the summarizer call's
// ledger row.
import { type Sql, sql } from "../db/sql.ts";
import { randomUUID } from "node:crypto";
import type { SessionSummaryContent } from "../context-budget/summary.ts";

export interface SummaryInsert {
  sessionId: string;
  turnId: string;
  stepId: string;
  throughTurnSeq: number;
  source: "model" | "truncation";
  content: SessionSummaryContent;
  /** The summary as the context block the transcript shows. */
  block: string;
}

/** Fixed ids and ON CONFLICT DO NOTHING: the statement may be sent again after its outcome was lost. */
export function summaryInsertCtes(summary: SummaryInsert): Sql[] {
  const { content } = summary;
  return [
    sql`stored_summary AS (
      INSERT INTO session_summaries (id, session_id, turn_id, through_turn_seq, source, summary_text, key_facts, open_questions, decisions, action_items)
      VALUES (${randomUUID()}::uuid, ${summary.sessionId}::uuid, ${summary.turnId}::uuid, ${summary.throughTurnSeq}, ${summary.source}, ${content.summary_text},
              ${JSON.stringify(content.key_facts)}::jsonb, ${JSON.stringify(content.open_questions)}::jsonb, ${JSON.stringify(content.decisions)}::jsonb,
              ${JSON.stringify(content.action_items)}::jsonb)
      ON CONFLICT (id) DO NOTHING)`,
    sql`summary_message AS (
      INSERT INTO messages (id, session_id, turn_id, step_id, role, content)
      VALUES (${randomUUID()}::uuid, ${summary.sessionId}::uuid, ${summary.turnId}::uuid, ${summary.stepId}::uuid, 'summary', ${summary.block})
      ON CONFLICT (id) DO NOTHING)`,
  ];
}
