// Assembly order (SPEC section 6): system layers (global, mode, agent role) →
// room goal and mode → latest summary → recent raw window → current message.
// The unresolved turn (earlier outputs of this turn) sits just before the
// current message so later agents see them.
import type { ChatMessage } from "../llm/types.ts";
import { estimateTokens } from "../llm/tokenEstimate.ts";

export interface HistoryMessage {
  id: string;
  role: "user" | "agent" | "synthesis";
  agentKey: string | null;
  content: string;
}

export interface HistoryTurn {
  seq: number;
  messages: HistoryMessage[];
}

export interface ContextSources {
  systemLayers: string[];
  roomFrame: string | null;
  summaryBlock: string | null;
  history: HistoryTurn[];
  unresolvedTurn: HistoryMessage[];
  currentMessage: string;
}

function asChat(message: HistoryMessage): ChatMessage {
  if (message.role === "user") return { role: "user", content: message.content };
  const speaker = message.role === "synthesis" ? "manager synthesis" : `@${message.agentKey ?? "agent"}`;
  return { role: "assistant", content: `[${speaker}] ${message.content}` };
}

export function assemble(sources: ContextSources): ChatMessage[] {
  const messages: ChatMessage[] = [{ role: "system", content: sources.systemLayers.join("\n\n") }];
  if (sources.roomFrame) messages.push({ role: "system", content: sources.roomFrame });
  if (sources.summaryBlock) messages.push({ role: "system", content: sources.summaryBlock });
  for (const turn of sources.history) messages.push(...turn.messages.map(asChat));
  messages.push(...sources.unresolvedTurn.map(asChat));
  messages.push({ role: "user", content: sources.currentMessage });
  return messages;
}

export function estimateMessages(messages: ChatMessage[]): number {
  return messages.reduce((sum, message) => sum + estimateTokens(message.content), 0);
}

export function estimateSources(sources: ContextSources): number {
  return estimateMessages(assemble(sources));
}

/** What can never be dropped: system layers, room frame, summary, unresolved turn, current message. */
export function estimatePinned(sources: ContextSources): number {
  return estimateSources({ ...sources, history: [] });
}
