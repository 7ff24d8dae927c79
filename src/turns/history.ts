// Loads the session history a turn's context starts from: the latest summary
// and the raw turns after it (finished turns before this one, shared messages).
import type { HistoryMessage, HistoryTurn } from "../context-budget/assembly.ts";
import { summaryBlock, summaryContract } from "../context-budget/summary.ts";
import type { SessionHistory, TurnRun } from "./run.ts";

export async function loadHistory(run: TurnRun): Promise<SessionHistory> {
  if (run.history) return run.history;
  const { prisma } = run.services;
  const sessionId = run.scope.sessionId;
  const latest = await prisma.sessionSummary.findFirst({ where: { sessionId }, orderBy: [{ createdAt: "desc" }, { throughTurnSeq: "desc" }] });
  const throughTurnSeq = latest?.throughTurnSeq ?? 0;
  const rows = await prisma.message.findMany({
    where: {
      sessionId,
      visibility: "shared",
      role: { in: ["user", "agent", "synthesis"] },
      turn: { seq: { gt: throughTurnSeq, lt: run.turnSeq }, status: { not: "running" } },
    },
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    select: { id: true, role: true, agentKey: true, content: true, turn: { select: { seq: true } } },
  });
  const bySeq = new Map<number, HistoryMessage[]>();
  for (const row of rows) {
    const seq = row.turn!.seq;
    const messages = bySeq.get(seq) ?? [];
    messages.push({ id: row.id, role: row.role as HistoryMessage["role"], agentKey: row.agentKey, content: row.content });
    bySeq.set(seq, messages);
  }
  const turns: HistoryTurn[] = [...bySeq.entries()].sort(([a], [b]) => a - b).map(([seq, messages]) => ({ seq, messages }));
  run.history = { summaryBlock: latest ? summaryBlock(summaryContract.parse(storedSummary(latest))) : null, throughTurnSeq, turns };
  return run.history;
}

function storedSummary(row: { summaryText: string; keyFacts: unknown; openQuestions: unknown; decisions: unknown; actionItems: unknown }) {
  return { summary_text: row.summaryText, key_facts: row.keyFacts, open_questions: row.openQuestions, decisions: row.decisions, action_items: row.actionItems };
}
