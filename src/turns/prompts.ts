// System layers of every call (SPEC section 6 assembly order): global, mode,
// agent role — the role layer states which tools the agent may use.
import type { RosterEntry } from "./roster.ts";
import type { RoundStanding } from "./roundDecision.ts";
import type { TurnLimits } from "./turnLimits.ts";

const GLOBAL_LAYER =
  "You are an agent in Pantheon, a council of AI agents. Answer the user directly and concisely. Do not claim to have used tools you were not given.";

const MODE_LAYERS: Record<string, string> = {
  manual: "Mode: manual. The user tagged you by name; answer what was asked of you.",
  roundtable: "Mode: roundtable. Every agent of the room answers in turn; build on earlier answers of this turn instead of repeating them.",
  orchestrator: "Mode: orchestrator. A manager routed this message to you with an instruction; follow it.",
  direct: "Mode: direct chat. You are the only agent in this conversation.",
};

export function toolsLine(tools: readonly string[]): string {
  return tools.length > 0
    ? `Tools you may use: ${tools.join(", ")}. No other tools are available.`
    : "You may not use any tools in this conversation.";
}

export function agentLayers(mode: string, agent: RosterEntry, instruction: string | null): string[] {
  const role = `You are ${agent.name} (@${agent.agentKey}). ${agent.rolePrompt}`.trim();
  const layers = [GLOBAL_LAYER, MODE_LAYERS[mode] ?? "", `${role}\n${toolsLine(agent.toolPermissions)}`];
  if (instruction) layers.push(`The manager's instruction for you: ${instruction}`);
  return layers.filter(Boolean);
}

export function roomFrame(room: { name: string; goal: string } | null, mode: string): string | null {
  if (!room) return null;
  return `Room "${room.name}" (mode ${mode}).${room.goal ? ` Goal: ${room.goal}` : ""}`;
}

function agentLines(roster: RosterEntry[]): string {
  return roster.map((agent) => `- ${agent.agentKey}: ${agent.name} (${agent.modelAlias}). ${agent.rolePrompt.slice(0, 300)}`).join("\n");
}

export function managerRoutingPrompt(roster: RosterEntry[], limits: TurnLimits): string {
  return [
    "You are the manager of a council of agents. Decide which agents answer the user's message and in what order.",
    "Answer with one JSON object only, matching the given schema: steps (agentKey from the list, instruction) and rationale.",
    `An agent may appear at most ${limits.maxPerAgent} times, and there are at most ${limits.maxInvocations} steps.`,
    `Agents:\n${agentLines(roster)}`,
  ].join("\n");
}

export function roundDecisionPrompt(roster: RosterEntry[], standing: RoundStanding, limits: TurnLimits): string {
  const perAgent = [...standing.perAgentLeft].map(([key, left]) => `${key} ${left}`).join(", ");
  return [
    `You are the manager of a council of agents. Round ${standing.round} of at most ${limits.maxRounds} is done: decide whether the agents' answers so far are enough.`,
    'Answer with one JSON object only, matching the given schema: decision "stop" (the answers are enough; you will write the final answer next) with no steps,',
    'or decision "continue" with the steps of the next round (agentKey from the list, instruction), and a rationale.',
    `Continue only for something new: steps left in this turn ${standing.invocationsLeft}; per agent: ${perAgent}.`,
    `Agents:\n${agentLines(roster)}`,
  ].join("\n");
}

export function repairPrompt(issues: string[]): string {
  return `Your answer was rejected:\n${issues.map((issue) => `- ${issue}`).join("\n")}\nAnswer again with only the JSON object that matches the schema.`;
}

export const SYNTHESIS_PROMPT =
  "You are the manager of a council of agents. Write the final answer to the user's message from the agents' answers below: reconcile them, keep what is correct, say where they disagree.";

export const SUMMARIZER_PROMPT =
  "Summarize the conversation below for later turns of the same session. Answer with one JSON object matching the schema: summary_text, key_facts, open_questions, decisions, action_items.";
