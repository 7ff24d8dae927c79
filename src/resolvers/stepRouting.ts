// A manager routing step's stored decision as the RoutingDecision a client
// already knows from previewRouting: the agents it chose, or why it chose none.
import { z } from "zod";
import type { RosterEntry } from "../turns/roster.ts";
import type { RoutingDecision } from "./previewRouting.ts";

/** A stored selection's steps with the turn's roster entries (a key no longer on it is left out). */
function onRoster(roster: RosterEntry[], steps: { agentKey: string; instruction?: string | null }[]): { agent: RosterEntry; instruction: string | null }[] {
  const byKey = new Map(roster.map((agent) => [agent.agentKey, agent]));
  return steps.flatMap((step) => {
    const agent = byKey.get(step.agentKey);
    return agent ? [{ agent, instruction: step.instruction ?? null }] : [];
  });
}

const storedDecision = z.object({
  attempts: z.array(z.object({ status: z.string(), accepted: z.boolean(), issues: z.array(z.string()) })),
  plan: z.object({ steps: z.array(z.object({ agentKey: z.string(), instruction: z.string().nullable().optional() })), rationale: z.string().nullable().optional() }).nullable(),
});

export function routingOfStep(kind: string, stored: unknown, roster: RosterEntry[]): RoutingDecision | null {
  if (kind !== "manager_route" || stored === null || stored === undefined) return null;
  const parsed = storedDecision.safeParse(stored);
  if (!parsed.success) return null;
  const { attempts, plan } = parsed.data;
  if (plan) return { kind: "route", mode: "orchestrator", steps: onRoster(roster, plan.steps), metered: true, rationale: plan.rationale ?? null };
  const last = attempts.at(-1);
  // Still running (the repair re-ask is in flight): no decision yet.
  if (!last) return null;
  return { kind: "rejected", mode: "orchestrator", reason: last.status === "success" ? "INVALID_MANAGER_OUTPUT" : "PROVIDER_FAILED", issues: last.issues };
}

const storedRoundDecision = z.object({
  issues: z.array(z.string()),
  decision: z
    .object({ decision: z.enum(["continue", "stop"]), steps: z.array(z.object({ agentKey: z.string(), instruction: z.string() })).optional(), rationale: z.string() })
    .nullable(),
});

/** A manager_continue step's decision (SPEC 16), as clients read it. */
export type RoundDecisionView =
  | { kind: "continue"; steps: { agent: RosterEntry; instruction: string | null }[]; rationale: string }
  | { kind: "stop"; rationale: string }
  | { kind: "rejected"; issues: string[] };

export function roundDecisionOfStep(kind: string, stored: unknown, roster: RosterEntry[]): RoundDecisionView | null {
  if (kind !== "manager_continue") return null;
  const parsed = storedRoundDecision.safeParse(stored);
  // Still running: no decision yet.
  if (!parsed.success) return null;
  const { issues, decision } = parsed.data;
  if (!decision) return { kind: "rejected", issues };
  if (decision.decision === "stop") return { kind: "stop", rationale: decision.rationale };
  return { kind: "continue", steps: onRoster(roster, decision.steps ?? []), rationale: decision.rationale };
}
