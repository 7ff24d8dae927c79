// The manager's decision after a round of an orchestrator turn (SPEC 16):
// stop (a synthesis follows) or continue with another selection of agents.
// Checked by zod like routing (routingContract.ts); an answer that does not
// parse, names an unknown agent or contradicts itself is invalid, and an
// invalid answer stops the rounds: nothing is guessed.
import { z } from "zod";
import { parseStorableJson } from "../db/storableText.ts";
import { stepJsonSchema, type RoutingStep } from "./routingContract.ts";

export const ROUND_DECISION_SCHEMA_NAME = "round_decision";

/** Where an orchestrator turn stands when its manager decides whether another round runs. */
export interface RoundStanding {
  /** The round just finished, from 1. */
  round: number;
  /** Specialist steps left in the turn, and for each agent (turnLimits.ts). */
  invocationsLeft: number;
  perAgentLeft: Map<string, number>;
}

export type RoundDecision = { decision: "stop"; rationale: string } | { decision: "continue"; steps: RoutingStep[]; rationale: string };

export type RoundDecisionValidation = { ok: true; decision: RoundDecision } | { ok: false; issues: string[] };

function roundDecisionSchema(agentKeys: string[], maxSteps: number) {
  const keys = new Set(agentKeys);
  return z
    .strictObject({
      decision: z.enum(["continue", "stop"]),
      steps: z
        .array(
          z.strictObject({
            agentKey: z.string().refine((key) => keys.has(key), { message: "is not an agent of this room" }),
            instruction: z.string().max(2000),
          }),
        )
        .max(maxSteps, `at most ${maxSteps} steps`),
      rationale: z.string().max(2000),
    })
    .superRefine((answer, ctx) => {
      if (answer.decision === "continue" && answer.steps.length === 0) ctx.addIssue({ code: "custom", path: ["steps"], message: "continue must name at least one agent" });
      if (answer.decision === "stop" && answer.steps.length > 0) ctx.addIssue({ code: "custom", path: ["steps"], message: "stop names no agents" });
    });
}

/** The JSON schema sent as response_format, mirroring the zod schema (strict mode: every property required). */
export function roundDecisionJsonSchema(agentKeys: string[], maxSteps: number): Record<string, unknown> {
  return {
    type: "object",
    additionalProperties: false,
    required: ["decision", "steps", "rationale"],
    properties: {
      decision: { type: "string", enum: ["continue", "stop"] },
      steps: {
        type: "array",
        maxItems: maxSteps,
        items: stepJsonSchema(agentKeys),
      },
      rationale: { type: "string" },
    },
  };
}

/** Parses the manager's raw text strictly: one JSON object, no fences, no prose. */
export function validateRoundDecision(text: string, agentKeys: string[], maxSteps: number): RoundDecisionValidation {
  let json: unknown;
  try {
    json = parseStorableJson(text);
  } catch {
    return { ok: false, issues: ["the output is not a JSON object (no prose, no code fences)"] };
  }
  const parsed = roundDecisionSchema(agentKeys, maxSteps).safeParse(json);
  if (!parsed.success) return { ok: false, issues: parsed.error.issues.map((issue) => `${issue.path.join(".") || "output"}: ${issue.message}`) };
  const { decision, steps, rationale } = parsed.data;
  return { ok: true, decision: decision === "stop" ? { decision, rationale } : { decision, steps, rationale } };
}

/** Two selections are the same when they name the same agents with the same instructions, in the same order. */
export function sameSelection(a: RoutingStep[], b: RoutingStep[]): boolean {
  return a.length === b.length && a.every((step, index) => step.agentKey === b[index]!.agentKey && step.instruction === b[index]!.instruction);
}
