// Structured answers of the local provider: valid by construction, derived
// deterministically from the request.
import { z } from "zod";
import type { LlmRequest } from "./types.ts";

const SUMMARY_EXCERPT_CHARS = 160;

function lastUserMessage(request: LlmRequest): string {
  return [...request.messages].reverse().find((message) => message.role === "user")?.content ?? "";
}

/** The roster keys and the step cap a routing request's JSON schema carries (turns/routingContract.ts builds it). */
const routingSchemaShape = z.object({
  properties: z.object({
    steps: z.object({ maxItems: z.number().int().positive(), items: z.object({ properties: z.object({ agentKey: z.object({ enum: z.array(z.string()) }) }) }) }),
  }),
});

interface LocalRoutingPlan {
  steps: { agentKey: string; instruction: string }[];
  rationale: string;
}

/** Agents whose key appears in the message (as a word, in order of appearance); all agents when none does. */
export function localRoutingDecision(request: LlmRequest): LocalRoutingPlan {
  const shape = routingSchemaShape.safeParse(request.structured?.schema ?? {});
  const keys = shape.success ? shape.data.properties.steps.items.properties.agentKey.enum : [];
  const maxSteps = shape.success ? shape.data.properties.steps.maxItems : 1;
  const message = lastUserMessage(request).toLowerCase();
  const mentioned = keys
    .map((key) => ({ key, at: message.search(new RegExp(`\\b${key}\\b`)) }))
    .filter((entry) => entry.at >= 0)
    .sort((a, b) => a.at - b.at)
    .map((entry) => entry.key);
  const chosen = (mentioned.length > 0 ? mentioned : keys).slice(0, maxSteps);
  return {
    steps: chosen.map((agentKey) => ({ agentKey, instruction: "Answer the user's message from your role." })),
    rationale: mentioned.length > 0 ? "The message names these agents." : "No agent is named; every agent contributes.",
  };
}

export function localSummary(request: LlmRequest) {
  const transcript = request.messages.filter((message) => message.role === "user").map((message) => message.content);
  const excerpt = transcript.join(" ").replace(/\s+/g, " ").slice(0, SUMMARY_EXCERPT_CHARS);
  return {
    summary_text: `Earlier conversation: ${excerpt}`,
    key_facts: [],
    open_questions: [],
    decisions: [],
    action_items: [],
  };
}

/** After a round the offline manager stops: one round answers the message, and the synthesis follows. */
export function localRoundDecision() {
  return { decision: "stop", steps: [], rationale: "The agents' answers cover the message." };
}
