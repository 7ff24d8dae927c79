// Who would answer a message, without sending it. Manual and roundtable are
// resolved from the roster (free); orchestrator asks the manager only when
// explicitly requested, and that call is metered like any other. Metered
// previews are bounded (SPEC 11): one per HTTP request (batches and aliases
// included), exactly one provider call each (no retry, no repair re-ask),
// counted in the per-user rate limit with sends, and held like a turn's first
// call (turns/previewReservation.ts).
import { z } from "zod";
import type { Context } from "../context.ts";
import { NotFoundError, ValidationError } from "../errors.ts";
import { ledgerRowFor, type CallAttribution } from "../metering/ledger.ts";
import type { ProviderAttempt } from "../llm/types.ts";
import { readManagerModel } from "../settings/managerModel.ts";
import { decodeId, parseInput, STORABLE_MESSAGE } from "../validation/input.ts";
import { assertModeAvailable } from "../gates/modeGate.ts";
import { viewerId } from "./viewer.ts";
import { planAgents, type SessionScope } from "../turns/planning.ts";
import { loadSessionScope } from "../turns/sessionScopeSql.ts";
import { SINGLE_CALL, requestRouting } from "../turns/routing.ts";
import { routingRequest } from "../turns/requests.ts";
import { validateRoutingOutput } from "../turns/routingContract.ts";
import { CallFunding } from "../credits/callFunding.ts";
import { releaseHold } from "../credits/callHolds.ts";
import { reservePreview } from "../turns/previewReservation.ts";
import type { RosterEntry } from "../turns/roster.ts";
import { MAX_MESSAGE_CHARS } from "../turns/accept.ts";
import { isStorableText } from "../db/storableText.ts";

export type RoutingDecision =
  | { kind: "route"; mode: string; steps: { agent: RosterEntry; instruction: string | null }[]; metered: boolean; rationale: string | null }
  | { kind: "rejected"; mode: string; reason: "NO_VALID_TAGS" | "NO_AGENTS" | "INVALID_MANAGER_OUTPUT" | "PROVIDER_FAILED"; issues: string[] }
  | { kind: "requiresManager"; mode: string; candidates: RosterEntry[] };

const previewInput = z.object({ content: z.string().trim().min(1, "must not be empty").max(MAX_MESSAGE_CHARS).refine(isStorableText, STORABLE_MESSAGE) });

/** HTTP requests that already made their one metered preview. */
const meteredRequests = new WeakSet<object>();

function claimMeteredPreview(context: Context): void {
  if (meteredRequests.has(context.request)) {
    throw new ValidationError([{ path: ["input", "runManager"], message: "At most one preview with runManager per HTTP request (batches and aliases included)." }]);
  }
  meteredRequests.add(context.request);
}

async function askManager(scope: SessionScope, content: string, context: Context): Promise<RoutingDecision> {
  const attribution: CallAttribution = {
    userId: viewerId(context),
    scope: scope.room ? { kind: "room", roomId: scope.room.id, sessionId: scope.sessionId } : { kind: "direct", sessionId: scope.sessionId },
    turnId: null,
    stepId: null,
    agentId: null,
    turnMode: scope.mode,
  };
  const { config, pool, statements } = context.services;
  const limits = { contextMaxOutputTokens: config.contextMaxOutputTokens, minOutputTokens: config.minOutputTokens };
  const managerAlias = await readManagerModel(pool);
  const request = routingRequest(managerAlias, scope.roster, content, limits, scope.turnLimits);
  const { enforcement, defaultPlan } = config.credits;
  const reserved = await reservePreview(pool, config.rateLimit, attribution.userId, scope.sessionId, { request, defaultPlan, configured: enforcement, roomId: scope.room?.id ?? null, limits });
  // The call's bound was held with the reservation; the funding hands it, and the bound, to the call's row.
  const funding = new CallFunding({ db: pool, prepared: statements, limits }, reserved.holdScope, reserved.held);
  const record = async (attempt: ProviderAttempt) => void (await context.services.ledger.record([ledgerRowFor(attribution, attempt, funding.settle())]));
  let outcome;
  try {
    const keys = scope.roster.map((agent) => agent.agentKey);
    outcome = await requestRouting(context.services.turns.gateway, request, (text) => validateRoutingOutput(text, keys, scope.turnLimits), { beforeAttempt: (sent) => funding.fund(sent), recordRetried: record, recordRejected: record }, SINGLE_CALL);
    await record(outcome.finalAttempt);
  } finally {
    // Once the row is recorded (its debit charged the call), the hold goes; if this fails, the lease sweep releases it later.
    if (reserved.holdScope) await releaseHold(pool, reserved.id, attribution.userId).catch(() => undefined);
  }
  if (!outcome.ok) {
    return { kind: "rejected", mode: scope.mode, reason: outcome.reason === "invalid_output" ? "INVALID_MANAGER_OUTPUT" : "PROVIDER_FAILED", issues: outcome.issues };
  }
  const byKey = new Map(scope.roster.map((agent) => [agent.agentKey, agent]));
  const steps = outcome.plan.steps.map((step) => ({ agent: byKey.get(step.agentKey)!, instruction: step.instruction }));
  return { kind: "route", mode: scope.mode, steps, metered: true, rationale: outcome.plan.rationale };
}

export async function previewRouting(input: { sessionId: string | number; content: string; runManager?: boolean | null }, context: Context): Promise<RoutingDecision> {
  const { content } = parseInput(previewInput, { content: input.content });
  const scope = await loadSessionScope(context.services.pool, viewerId(context), decodeId(input.sessionId, "Session"));
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
      assertModeAvailable("orchestrator", context.services.readiness);
      if (!input.runManager) return { kind: "requiresManager", mode: scope.mode, candidates: scope.roster };
      claimMeteredPreview(context);
      return askManager(scope, content, context);
  }
}
