// A scripted council behind the loopback OpenRouter server: agent calls answer
// as the agent named in the system prompt, routing calls answer from a script,
// and chosen agents fail. Every call reports the same reference usage, so
// expected credits can be computed by hand.
import type { FakeCall, FakeReply, FakeUsage } from "./fakeOpenRouter.ts";

/** Reference usage per call: 1000 prompt (200 cached), 500 output → OE 800. */
export const REFERENCE_USAGE: FakeUsage = { prompt_tokens: 1000, cached_tokens: 200, completion_tokens: 500, cost: 0.0025 };

export interface CouncilScript {
  /** Agent keys whose calls fail with HTTP 500. */
  failing: Set<string>;
  /** Routing answers, consumed in order; when empty, a valid decision naming every agent once. */
  routing: string[];
  /** The manager's answers after a round (continue or stop), consumed in order; when empty, a valid "stop". */
  rounds: string[];
  /** Delay before an agent answers, to keep a turn running. */
  agentDelayMs: number;
  /** Resolves to hold agent calls until released. */
  hold: Promise<void> | null;
  /** Agent key → a promise its calls wait for. */
  holds: Map<string, Promise<void>>;
  /** Agent key → the answer it gives instead of the default one. */
  outputs: Map<string, string>;
  /** Raw summarizer output instead of a valid summary (e.g. to make it break the contract). */
  summaryOutput: string | null;
}

export function newScript(): CouncilScript {
  return { failing: new Set(), routing: [], rounds: [], agentDelayMs: 0, hold: null, holds: new Map(), outputs: new Map(), summaryOutput: null };
}

export function agentKeyOf(call: FakeCall): string | null {
  const system = call.body.messages[0]?.content ?? "";
  return /\(@([a-z0-9_]+)\)/.exec(system)?.[1] ?? null;
}

export function callPurpose(call: FakeCall): "routing" | "round" | "summary" | "synthesis" | "agent" {
  const schemaName = call.body.response_format?.json_schema.name;
  if (schemaName === "routing_decision") return "routing";
  if (schemaName === "round_decision") return "round";
  if (schemaName === "session_summary") return "summary";
  return agentKeyOf(call) ? "agent" : "synthesis";
}

function routingKeys(call: FakeCall): string[] {
  const schema = call.body.response_format!.json_schema.schema as { properties: { steps: { items: { properties: { agentKey: { enum: string[] } } } } } };
  return schema.properties.steps.items.properties.agentKey.enum;
}

export function councilHandler(script: CouncilScript) {
  return async (call: FakeCall): Promise<FakeReply> => {
    const purpose = callPurpose(call);
    if (purpose === "routing") {
      const scripted = script.routing.shift();
      const content = scripted ?? JSON.stringify({ steps: routingKeys(call).map((agentKey) => ({ agentKey, instruction: "help" })), rationale: "everyone" });
      return { kind: "stream", content, usage: REFERENCE_USAGE };
    }
    if (purpose === "round") {
      const content = script.rounds.shift() ?? JSON.stringify({ decision: "stop", steps: [], rationale: "enough" });
      return { kind: "stream", content, usage: REFERENCE_USAGE };
    }
    if (purpose === "summary") {
      const summary = { summary_text: "They discussed the plan.", key_facts: ["fact"], open_questions: [], decisions: ["go"], action_items: [] };
      return { kind: "stream", content: script.summaryOutput ?? JSON.stringify(summary), usage: REFERENCE_USAGE };
    }
    if (purpose === "synthesis") return { kind: "stream", content: "Synthesis: the council agrees.", usage: REFERENCE_USAGE };
    const key = agentKeyOf(call)!;
    if (script.hold) await script.hold;
    await script.holds.get(key);
    if (script.agentDelayMs) await new Promise((resolve) => setTimeout(resolve, script.agentDelayMs));
    if (script.failing.has(key)) return { kind: "status", status: 500 };
    return { kind: "stream", content: script.outputs.get(key) ?? `Answer from ${key}.`, usage: REFERENCE_USAGE };
  };
}
