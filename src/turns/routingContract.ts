// The orchestrator's routing contract (Gate B): the manager answers with a
// structured decision that this zod schema checks. Nothing is guessed: prose,
// comma-separated names, unknown keys or caps exceeded are rejected.
import { z } from "zod";
import { parseStorableJson } from "../db/storableText.ts";
import { DEFAULT_TURN_LIMITS, type TurnLimits } from "./turnLimits.ts";

export const ROUTING_SCHEMA_NAME = "routing_decision";

/** The caps a first round's plan must respect: the room's (turnLimits.ts). */
export type PlanCaps = Pick<TurnLimits, "maxInvocations" | "maxPerAgent">;

export interface RoutingStep {
  agentKey: string;
  instruction: string;
}

export interface RoutingPlan {
  steps: RoutingStep[];
  rationale: string;
}

export function routingDecisionSchema(agentKeys: string[], caps: PlanCaps = DEFAULT_TURN_LIMITS) {
  const keys = new Set(agentKeys);
  return z
    .object({
      steps: z
        .array(
          z.strictObject({
            agentKey: z.string().refine((key) => keys.has(key), { message: "is not an agent of this room" }),
            instruction: z.string().max(2000),
          }),
        )
        .min(1, "must name at least one agent")
        .max(caps.maxInvocations, `at most ${caps.maxInvocations} invocations per turn`),
      rationale: z.string().max(2000),
    })
    .strict()
    .superRefine((plan, ctx) => {
      const counts = new Map<string, number>();
      for (const step of plan.steps) counts.set(step.agentKey, (counts.get(step.agentKey) ?? 0) + 1);
      for (const [key, count] of counts) {
        if (count > caps.maxPerAgent) {
          ctx.addIssue({ code: "custom", path: ["steps"], message: `${key} is invoked ${count} times; at most ${caps.maxPerAgent}` });
        }
      }
    });
}

/** One step of a selection in a JSON schema (routing and round decisions alike): one of the roster's agents and its instruction. */
export function stepJsonSchema(agentKeys: string[]): Record<string, unknown> {
  return {
    type: "object",
    additionalProperties: false,
    required: ["agentKey", "instruction"],
    properties: { agentKey: { type: "string", enum: agentKeys }, instruction: { type: "string" } },
  };
}

/** The JSON schema sent as response_format, mirroring the zod schema. */
export function routingJsonSchema(agentKeys: string[], caps: PlanCaps = DEFAULT_TURN_LIMITS): Record<string, unknown> {
  return {
    type: "object",
    additionalProperties: false,
    required: ["steps", "rationale"],
    properties: {
      steps: {
        type: "array",
        minItems: 1,
        maxItems: caps.maxInvocations,
        items: stepJsonSchema(agentKeys),
      },
      rationale: { type: "string" },
    },
  };
}

export type RoutingValidation = { ok: true; plan: RoutingPlan } | { ok: false; issues: string[] };

/** Parses the manager's raw text strictly: it must be one JSON object, no fences, no prose. */
export function validateRoutingOutput(text: string, agentKeys: string[], caps: PlanCaps = DEFAULT_TURN_LIMITS): RoutingValidation {
  let json: unknown;
  try {
    json = parseStorableJson(text);
  } catch {
    return { ok: false, issues: ["the output is not a JSON object (no prose, no code fences)"] };
  }
  const parsed = routingDecisionSchema(agentKeys, caps).safeParse(json);
  if (parsed.success) return { ok: true, plan: parsed.data };
  return { ok: false, issues: parsed.error.issues.map((issue) => `${issue.path.join(".") || "output"}: ${issue.message}`) };
}
