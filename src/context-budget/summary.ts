// The summary contract (SPEC section 6): what the summarizer must return, the
// JSON schema it is asked for, the context block it becomes, and the
// deterministic truncation used when the summarizer fails.
import { z } from "zod";
import type { HistoryTurn } from "./assembly.ts";
import { parseStorableJson } from "../db/storableText.ts";

export const SUMMARY_SCHEMA_NAME = "session_summary";
const ANCHOR_CHARS = 400;
const LINE_CHARS = 120;

const items = z.array(z.string().max(1000)).max(50);

export const summaryContract = z.strictObject({
  summary_text: z.string().min(1).max(8000),
  key_facts: items,
  open_questions: items,
  decisions: items,
  action_items: items,
});

export type SessionSummaryContent = z.infer<typeof summaryContract>;

const stringArray = { type: "array", items: { type: "string" } };

export const summaryJsonSchema: Record<string, unknown> = {
  type: "object",
  additionalProperties: false,
  required: ["summary_text", "key_facts", "open_questions", "decisions", "action_items"],
  properties: { summary_text: { type: "string" }, key_facts: stringArray, open_questions: stringArray, decisions: stringArray, action_items: stringArray },
};

export function parseSummary(text: string): SessionSummaryContent | null {
  try {
    const parsed = summaryContract.safeParse(parseStorableJson(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export function summaryBlock(summary: SessionSummaryContent): string {
  const section = (title: string, values: string[]) => (values.length ? `\n${title}:\n${values.map((value) => `- ${value}`).join("\n")}` : "");
  return (
    `Summary of the earlier conversation:\n${summary.summary_text}` +
    section("Key facts", summary.key_facts) +
    section("Open questions", summary.open_questions) +
    section("Decisions", summary.decisions) +
    section("Action items", summary.action_items)
  );
}

export function transcriptOf(turns: HistoryTurn[]): string {
  return turns
    .map((turn) => turn.messages.map((message) => `${message.role === "user" ? "User" : `@${message.agentKey ?? message.role}`}: ${message.content}`).join("\n"))
    .join("\n\n");
}

/**
 * Deterministic fallback: the pinned anchors (the first and the latest user
 * message of the range) kept longer, one short line per turn in between.
 */
export function truncationSummary(turns: HistoryTurn[]): SessionSummaryContent {
  const userText = (turn: HistoryTurn) => turn.messages.find((message) => message.role === "user")?.content ?? "";
  const first = turns[0];
  const last = turns.at(-1);
  const middle = turns.slice(1, -1).map((turn) => `turn ${turn.seq}: ${userText(turn).slice(0, LINE_CHARS)}`);
  const lines = [
    first ? `First request (turn ${first.seq}): ${userText(first).slice(0, ANCHOR_CHARS)}` : "",
    ...middle,
    last && last !== first ? `Latest summarized request (turn ${last.seq}): ${userText(last).slice(0, ANCHOR_CHARS)}` : "",
  ].filter(Boolean);
  return { summary_text: lines.join("\n") || "No earlier conversation.", key_facts: [], open_questions: [], decisions: [], action_items: [] };
}
