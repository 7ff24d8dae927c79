// Who answers a message, before any LLM call: the session's scope (room or
// direct agent), the effective mode (a pending mode is promoted at send), the
// roster in position order, and for manual mode the @tags in tag order.
// The scope is read by sessionScopeSql.ts.
import type { RoomMode, TurnMode } from "../generated/prisma/enums.ts";
import type { RosterEntry } from "./roster.ts";
import type { TurnLimits } from "./turnLimits.ts";

const TAG_PATTERN = /@([a-z0-9_]{2,32})\b/g;

export interface SessionScope {
  sessionId: string;
  room: { id: string; name: string; goal: string; currentMode: RoomMode; pendingMode: RoomMode | null } | null;
  directAgentId: string | null;
  mode: TurnMode;
  roster: RosterEntry[];
  /** The room's turn limits when the message was accepted (defaults for a direct chat). */
  turnLimits: TurnLimits;
}

/** @agentKey tags in order of first appearance, each once. */
export function parseTags(content: string): string[] {
  const keys: string[] = [];
  for (const match of content.matchAll(TAG_PATTERN)) if (!keys.includes(match[1]!)) keys.push(match[1]!);
  return keys;
}

export type AgentPlan =
  | { kind: "agents"; agents: RosterEntry[] }
  | { kind: "noValidTags"; availableAgentKeys: string[] }
  | { kind: "noAgents" }
  | { kind: "manager" };

/** The agents that run without asking a manager; orchestrator mode needs the manager. */
export function planAgents(mode: TurnMode, roster: RosterEntry[], content: string): AgentPlan {
  if (roster.length === 0) return { kind: "noAgents" };
  if (mode === "orchestrator") return { kind: "manager" };
  if (mode !== "manual") return { kind: "agents", agents: roster };
  const byKey = new Map(roster.map((agent) => [agent.agentKey, agent]));
  const tagged = parseTags(content).flatMap((key) => byKey.get(key) ?? []);
  return tagged.length > 0 ? { kind: "agents", agents: tagged } : { kind: "noValidTags", availableAgentKeys: roster.map((agent) => agent.agentKey) };
}
