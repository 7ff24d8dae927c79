// Who would answer a message, without sending it. Manual and roundtable are
// resolved from the roster (free); orchestrator asks the manager only when
// explicitly requested, and that call is metered like any other.
import { z } from "zod";
import type { Context } from "../context.ts";
import { NotFoundError } from "../errors.ts";
import { recordCall, type CallAttribution } from "../metering/ledger.ts";
import { readManagerModel } from "../settings/managerModel.ts";
import { decodeId, parseInput } from "./input.ts";
import { assertModeAvailable } from "./modeGate.ts";
import { viewerId } from "./viewer.ts";
import { planAgents, type SessionScope } from "../turns/planning.ts";
import { loadSessionScope } from "../turns/sessionScopeSql.ts";
import { requestRouting } from "../turns/routing.ts";
import type { RosterEntry } from "../turns/roster.ts";
import { MAX_MESSAGE_CHARS } from "../turns/accept.ts";

export type RoutingDecision =
  | { kind: "route"; mode: string; steps: { agent: RosterEntry; instruction: string | null }[]; metered: boolean; rationale: string | null }
  | { kind: "rejected"; mode: string; reason: "NO_VALID_TAGS" | "NO_AGENTS" | "INVALID_MANAGER_OUTPUT" | "PROVIDER_FAILED"; issues: string[] }
  | { kind: "requiresManager"; mode: string; candidates: RosterEntry[] };

const previewInput = z.object({ content: z.string().trim().min(1, "must not be empty").max(MAX_MESSAGE_CHARS) });

async function askManager(scope: SessionScope, content: string, context: Context): Promise<RoutingDecision> {
  const attribution: CallAttribution = {
    userId: viewerId(context),
    scope: scope.room ? { kind: "room", roomId: scope.room.id, sessionId: scope.sessionId } : { kind: "direct", sessionId: scope.sessionId },
    turnId: null,
    stepId: null,
    agentId: null,
    turnMode: scope.mode,
  };
  const record = (attempt: Parameters<typeof recordCall>[2]) => context.prisma.$transaction((tx) => recordCall(tx, attribution, attempt)).then(() => undefined);
  const managerAlias = await readManagerModel(context.pool);
  const outcome = await requestRouting(context.turns.gateway, { managerAlias, roster: scope.roster, content }, { recordRetried: record, recordRejected: record });
  await record(outcome.finalAttempt);
  if (!outcome.ok) {
    return { kind: "rejected", mode: scope.mode, reason: outcome.reason === "invalid_output" ? "INVALID_MANAGER_OUTPUT" : "PROVIDER_FAILED", issues: outcome.issues };
  }
  const byKey = new Map(scope.roster.map((agent) => [agent.agentKey, agent]));
  const steps = outcome.plan.steps.map((step) => ({ agent: byKey.get(step.agentKey)!, instruction: step.instruction }));
  return { kind: "route", mode: scope.mode, steps, metered: true, rationale: outcome.plan.rationale };
}

export async function previewRouting(input: { sessionId: string | number; content: string; runManager?: boolean | null }, context: Context): Promise<RoutingDecision> {
  const { content } = parseInput(previewInput, { content: input.content });
  const scope = await loadSessionScope(context.pool, viewerId(context), decodeId(input.sessionId, "Session"));
  if (!scope) throw new NotFoundError("Session");
  const plan = planAgents(scope.mode, scope.roster, content);
  switch (plan.kind) {
    case "agents":
      return { kind: "route", mode: scope.mode, steps: plan.agents.map((agent) => ({ agent, instruction: null })), metered: false, rationale: null };
    case "noValidTags":
      return { kind: "rejected", mode: scope.mode, reason: "NO_VALID_TAGS", issues: [`Tag one of: ${plan.availableAgentKeys.map((key) => `@${key}`).join(", ")}`] };
    case "noAgents":
      return { kind: "rejected", mode: scope.mode, reason: "NO_AGENTS", issues: ["The room has no agents."] };
    case "manager":
      assertModeAvailable("orchestrator", context);
      return input.runManager ? askManager(scope, content, context) : { kind: "requiresManager", mode: scope.mode, candidates: scope.roster };
  }
}
