// Pruning after summarizing (SPEC section 6): drop the oldest low-signal raw
// messages until the estimate is under the prune threshold. Agent answers go
// before user messages (the user's words carry the intent). System layers,
// the summary, the unresolved turn and the current message are never in the
// raw window, so they are never dropped.
import { estimateSources, type ContextSources, type HistoryMessage } from "./assembly.ts";

function pruneOrder(sources: ContextSources): HistoryMessage[] {
  const all = sources.history.flatMap((turn) => turn.messages);
  return [...all.filter((message) => message.role !== "user"), ...all.filter((message) => message.role === "user")];
}

function without(sources: ContextSources, dropped: Set<string>): ContextSources {
  const history = sources.history
    .map((turn) => ({ ...turn, messages: turn.messages.filter((message) => !dropped.has(message.id)) }))
    .filter((turn) => turn.messages.length > 0);
  return { ...sources, history };
}

export function prune(sources: ContextSources, targetTokens: number): { sources: ContextSources; droppedCount: number } {
  const dropped = new Set<string>();
  let current = sources;
  for (const message of pruneOrder(sources)) {
    if (estimateSources(current) < targetTokens) break;
    dropped.add(message.id);
    current = without(sources, dropped);
  }
  return { sources: current, droppedCount: dropped.size };
}
