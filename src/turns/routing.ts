// Orchestrator routing through the gateway: ask the manager for a structured
// decision, validate it against the contract, re-ask once with the issues,
// then give up with a typed outcome. Every call is handed to `record` with the
// verdict on its output, so its ledger row commits with that verdict.
import type { AttemptHooks, LlmGateway } from "../llm/gateway.ts";
import type { ProviderAttempt } from "../llm/types.ts";
import { repairPrompt } from "./prompts.ts";
import type { RoutingPlan, RoutingValidation } from "./routingContract.ts";
import type { TurnRequest } from "./requests.ts";

/** `finalAttempt` is the last call: the caller commits its ledger row with the outcome. */
export type RoutingOutcome = { finalAttempt: ProviderAttempt; attempts: AttemptVerdict[] } & (
  | { ok: true; plan: RoutingPlan }
  | { ok: false; reason: "invalid_output" | "provider_failed"; issues: string[] }
);

export interface AttemptVerdict {
  callKind: "manager_route" | "repair";
  status: string;
  accepted: boolean;
  issues: string[];
}

export interface RoutingHooks extends AttemptHooks {
  /** A rejected output that is followed by the repair re-ask, with the verdicts so far. */
  recordRejected(attempt: ProviderAttempt, verdicts: AttemptVerdict[]): Promise<void>;
}

/** A single call: no gateway retry and no repair re-ask (a preview may cost one metered call, SPEC 11). */
export const SINGLE_CALL = { maxRetries: 0, repair: false } as const;

/**
 * Asks the manager with `request` (routingRequest in requests.ts), checks the
 * answer with `validate` (validateRoutingOutput with the room's caps), and
 * re-asks once with the issues when it is invalid.
 */
export async function requestRouting(
  gateway: LlmGateway,
  request: TurnRequest,
  validate: (text: string) => RoutingValidation,
  hooks: RoutingHooks,
  limits: { maxRetries?: number; repair: boolean } = { repair: true },
): Promise<RoutingOutcome> {
  const messages = [...request.messages];
  const verdicts: AttemptVerdict[] = [];
  let callKind: AttemptVerdict["callKind"] = "manager_route";
  for (;;) {
    const attempt = await gateway.call({ ...request, callKind, messages: [...messages] }, hooks, limits.maxRetries);
    if (attempt.status !== "success") {
      verdicts.push({ callKind, status: attempt.status, accepted: false, issues: [attempt.errorMessage ?? "the call failed"] });
      return { ok: false, reason: "provider_failed", issues: verdicts.at(-1)!.issues, attempts: verdicts, finalAttempt: attempt };
    }
    const validation = validate(attempt.text);
    verdicts.push({ callKind, status: attempt.status, accepted: validation.ok, issues: validation.ok ? [] : validation.issues });
    if (validation.ok) return { ok: true, plan: validation.plan, attempts: verdicts, finalAttempt: attempt };
    if (callKind === "repair" || !limits.repair) return { ok: false, reason: "invalid_output", issues: validation.issues, attempts: verdicts, finalAttempt: attempt };
    await hooks.recordRejected(attempt, verdicts);
    messages.push({ role: "assistant", content: attempt.text }, { role: "user", content: repairPrompt(validation.issues) });
    callKind = "repair";
  }
}
