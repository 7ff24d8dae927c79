// The orchestrator's manager steps inside a turn: the routing step (with its
// repair re-ask), the continue-or-stop decision after a round (SPEC 16), and
// the final synthesis. Each call is held before it starts; one that cannot
// be held ends its step and the turn stops with BUDGET, and a halted turn
// (cancel, time limit) ends it the same way.
import type { Prisma } from "../generated/prisma/client.ts";
import { requestRouting, type AttemptVerdict } from "./routing.ts";
import { validateRoutingOutput, type RoutingPlan } from "./routingContract.ts";
import { validateRoundDecision, type RoundDecision, type RoundStanding } from "./roundDecision.ts";
import { roundDecisionRequest, routingRequest, synthesisRequest } from "./requests.ts";
import { routingDecisionCte } from "./stepSql.ts";
import { callForStep, finishStep, meterCall, startStep, stepErrorOf, turnCallHooks, unlessNotStarted } from "./steps.ts";
import type { TurnRun } from "./run.ts";

function decisionJson(verdicts: AttemptVerdict[], plan: RoutingPlan | null): Prisma.InputJsonValue {
  return {
    attempts: verdicts.map((verdict) => ({ ...verdict })),
    plan: plan ? { steps: plan.steps.map((step) => ({ ...step })), rationale: plan.rationale } : null,
  };
}

/** Runs the routing step; returns the plan, or null when routing failed (the step records why). */
export async function runRoutingStep(run: TurnRun): Promise<RoutingPlan | null> {
  const step = await startStep(run, "manager_route", null, run.managerAlias);
  const keys = run.roster.map((agent) => agent.agentKey);
  const request = routingRequest(run.managerAlias, run.roster, run.userContent, run.services.outputLimits, run.turnLimits);
  const outcome = await unlessNotStarted(run, step, () =>
    requestRouting(run.services.gateway, request, (text) => validateRoutingOutput(text, keys, run.turnLimits), {
      ...turnCallHooks(run, step),
      // A rejected output is a result too: its verdict commits with its ledger row.
      recordRejected: (attempt, verdicts) => meterCall(run, step, attempt, [routingDecisionCte(step.id, decisionJson(verdicts, null))]),
    }),
  );
  if (!outcome) return null;
  const plan = outcome.ok ? outcome.plan : null;
  const error = outcome.ok ? null : outcome.reason === "provider_failed" ? `Routing failed: ${stepErrorOf(run, outcome.finalAttempt)}` : `Routing rejected: ${outcome.issues.join("; ")}`;
  await finishStep(run, step, outcome.finalAttempt, {
    status: outcome.ok ? "completed" : "failed",
    output: plan ? plan.rationale : null,
    error,
    routingDecision: decisionJson(outcome.attempts, plan),
  });
  return plan;
}

/** What the round decision step found: the manager's decision, or why there is none. */
export type RoundDecisionOutcome = { ok: true; decision: RoundDecision } | { ok: false; invalid: boolean };

/**
 * Asks the manager, after a round, to stop or to continue with a selection
 * (one call, no re-ask: an invalid answer stops the rounds). The step keeps
 * the decision, or the issues, in its routing_decision.
 */
export async function runRoundDecisionStep(run: TurnRun, standing: RoundStanding): Promise<RoundDecisionOutcome> {
  const { outputLimits } = run.services;
  const request = roundDecisionRequest(run.managerAlias, run.roster, run.userContent, run.outputs, standing, run.turnLimits, outputLimits);
  const step = await startStep(run, "manager_continue", null, run.managerAlias, request);
  const attempt = await unlessNotStarted(run, step, () => callForStep(run, step, request));
  if (!attempt) return { ok: false, invalid: false };
  if (attempt.status !== "success") {
    const error = stepErrorOf(run, attempt) ?? "the call failed";
    await finishStep(run, step, attempt, { status: "failed", output: null, error: `Round decision failed: ${error}`, routingDecision: { issues: [error], decision: null } });
    return { ok: false, invalid: false };
  }
  const validation = validateRoundDecision(attempt.text, run.roster.map((agent) => agent.agentKey), run.turnLimits.maxInvocations);
  if (!validation.ok) {
    await finishStep(run, step, attempt, {
      status: "failed",
      output: null,
      error: `Round decision rejected: ${validation.issues.join("; ")}`,
      routingDecision: { issues: validation.issues, decision: null },
    });
    return { ok: false, invalid: true };
  }
  const { decision } = validation;
  await finishStep(run, step, attempt, { status: "completed", output: decision.rationale, error: null, routingDecision: { issues: [], decision: { ...decision } } });
  return { ok: true, decision };
}

export async function runSynthesisStep(run: TurnRun): Promise<boolean> {
  const request = synthesisRequest(run.managerAlias, run.userContent, run.outputs, run.services.outputLimits);
  const step = await startStep(run, "manager_synthesis", null, run.managerAlias, request);
  const attempt = await unlessNotStarted(run, step, () => callForStep(run, step, request));
  if (!attempt) return false;
  const ok = attempt.status === "success";
  await finishStep(
    run,
    step,
    attempt,
    ok ? { status: "completed", output: attempt.text, error: null } : { status: "failed", output: null, error: stepErrorOf(run, attempt) },
    { message: ok ? { role: "synthesis", content: attempt.text } : undefined },
  );
  return ok;
}
