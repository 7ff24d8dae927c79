// The orchestrator's manager steps inside a turn: the routing step (with its
// repair re-ask) and the final synthesis.
import type { Prisma } from "../generated/prisma/client.ts";
import { requestRouting, type AttemptVerdict } from "./routing.ts";
import type { RoutingPlan } from "./routingContract.ts";
import { SYNTHESIS_PROMPT } from "./prompts.ts";
import { routingDecisionCte } from "./stepSql.ts";
import { callForStep, finishStep, meterCall, startStep } from "./steps.ts";
import type { TurnRun } from "./run.ts";

export const SYNTHESIS_MAX_OUTPUT_TOKENS = 2048;

function decisionJson(verdicts: AttemptVerdict[], plan: RoutingPlan | null): Prisma.InputJsonValue {
  return {
    attempts: verdicts.map((verdict) => ({ ...verdict })),
    plan: plan ? { steps: plan.steps.map((step) => ({ ...step })), rationale: plan.rationale } : null,
  };
}

/** Runs the routing step; returns the plan, or null when routing failed (the step records why). */
export async function runRoutingStep(run: TurnRun): Promise<RoutingPlan | null> {
  const step = await startStep(run, "manager_route", null, run.managerAlias);
  const outcome = await requestRouting(
    run.services.gateway,
    { managerAlias: run.managerAlias, roster: run.roster, content: run.userContent },
    {
      recordRetried: (attempt) => meterCall(run, step, attempt),
      // A rejected output is a result too: its verdict commits with its ledger row.
      recordRejected: (attempt, verdicts) => meterCall(run, step, attempt, [routingDecisionCte(step.id, decisionJson(verdicts, null))]),
    },
  );
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
  const step = await startStep(run, "manager_synthesis", null, run.managerAlias);
  const answers = run.outputs.map((output) => `@${output.agentKey}: ${output.content}`).join("\n\n");
  const attempt = await callForStep(
    run,
    step,
    {
      modelAlias: run.managerAlias,
      callKind: "synthesis",
      maxOutputTokens: Math.min(SYNTHESIS_MAX_OUTPUT_TOKENS, run.services.config.contextMaxOutputTokens),
      messages: [
        { role: "system", content: SYNTHESIS_PROMPT },
        { role: "user", content: `User message:\n${run.userContent}\n\nAgents' answers:\n${answers}` },
      ],
    },
    true,
  );
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
