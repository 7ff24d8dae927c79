// The orchestrator's manager steps inside a turn: the routing step (with its
// repair re-ask) and the final synthesis. Each call is held before it starts;
// one that cannot be held ends its step and the turn stops with BUDGET.
import type { Prisma } from "../generated/prisma/client.ts";
import { CallUnfunded } from "../credits/callFunding.ts";
import { requestRouting, type AttemptVerdict } from "./routing.ts";
import type { RoutingPlan } from "./routingContract.ts";
import { routingRequest, synthesisRequest } from "./requests.ts";
import { routingDecisionCte } from "./stepSql.ts";
import { callForStep, finishStep, finishUnfunded, meterCall, startStep, turnCallHooks } from "./steps.ts";
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
  let outcome;
  try {
    outcome = await requestRouting(run.services.gateway, routingRequest(run.managerAlias, run.roster, run.userContent, run.services.outputLimits), run.roster, {
      ...turnCallHooks(run, step),
      // A rejected output is a result too: its verdict commits with its ledger row.
      recordRejected: (attempt, verdicts) => meterCall(run, step, attempt, [routingDecisionCte(step.id, decisionJson(verdicts, null))]),
    });
  } catch (error) {
    if (!(error instanceof CallUnfunded)) throw error;
    await finishUnfunded(run, step, error);
    return null;
  }
  const plan = outcome.ok ? outcome.plan : null;
  const error = outcome.ok ? null : `Routing ${outcome.reason === "invalid_output" ? "rejected" : "failed"}: ${outcome.issues.join("; ")}`;
  await finishStep(run, step, outcome.finalAttempt, {
    status: outcome.ok ? "completed" : "failed",
    output: plan ? plan.rationale : null,
    error,
    routingDecision: decisionJson(outcome.attempts, plan),
  });
  return plan;
}

export async function runSynthesisStep(run: TurnRun): Promise<boolean> {
  const request = synthesisRequest(run.managerAlias, run.userContent, run.outputs, run.services.outputLimits);
  const step = await startStep(run, "manager_synthesis", null, run.managerAlias, request);
  let attempt;
  try {
    attempt = await callForStep(run, step, request);
  } catch (error) {
    if (!(error instanceof CallUnfunded)) throw error;
    await finishUnfunded(run, step, error);
    return false;
  }
  const ok = attempt.status === "success";
  await finishStep(
    run,
    step,
    attempt,
    ok ? { status: "completed", output: attempt.text, error: null } : { status: "failed", output: null, error: attempt.errorMessage },
    { message: ok ? { role: "synthesis", content: attempt.text } : undefined },
  );
  return ok;
}
