// estimateTurnCost: what a message would cost in the session as it stands
// (mode, roster, history), without any provider call. It reads the session
// as a send would (the accept read, unlocked) and computes with the bounds
// the holds use (src/turns/costEstimate.ts).
import { z } from "zod";
import type { Context } from "../context.ts";
import { NoValidTagsError, NotFoundError, ValidationError } from "../errors.ts";
import { isModelAlias, type ModelAliasName } from "../llm/models.ts";
import { readManagerModel } from "../settings/managerModel.ts";
import { planAgents } from "../turns/planning.ts";
import { acceptRead, type AcceptReadRow } from "../turns/acceptSql.ts";
import { sessionScopeOf } from "../turns/sessionScopeSql.ts";
import { sessionHistory } from "../turns/history.ts";
import { MAX_MESSAGE_CHARS } from "../turns/accept.ts";
import { isStorableText } from "../db/storableText.ts";
import { DEFAULT_MANAGER_MODEL } from "../llm/models.ts";
import { estimateTurnCost as estimate, type CostEstimate } from "../turns/costEstimate.ts";
import { creditsText } from "../metering/creditUnits.ts";
import { roomBudgetLeft } from "../credits/balances.ts";
import { currentWallet } from "./credits.ts";
import { decodeId, parseInput, STORABLE_MESSAGE } from "../validation/input.ts";
import { assertModeAvailable } from "../gates/modeGate.ts";
import { viewerId } from "./viewer.ts";
import { queryOne, sql } from "../db/sql.ts";

const estimateInput = z.object({ content: z.string().trim().min(1, "must not be empty").max(MAX_MESSAGE_CHARS).refine(isStorableText, STORABLE_MESSAGE) });

/** The user's mean output tokens per successful agent call over 30 days, by model. */
const meanOutputSql = (userId: string) => sql`
  SELECT coalesce(json_object_agg(model_alias, mean), '{}') AS mean_output
    FROM (SELECT model_alias, avg(output_tokens)::float8 AS mean FROM llm_call_events
           WHERE user_id = ${userId}::uuid AND status = 'success' AND call_kind = 'agent' AND created_at > now() - interval '30 days'
           GROUP BY model_alias) outputs`;

/** The estimate's amounts as the ledger writes credits (four places). */
export interface TurnCostEstimate extends Record<keyof CostEstimate, string> {
  mode: string;
  available: string;
  /** What is left of the room's monthly budget; null without one. */
  roomAvailable: string | null;
}

export async function estimateTurnCost(input: { sessionId: string | number; content: string }, context: Context): Promise<TurnCostEstimate> {
  const { content } = parseInput(estimateInput, { content: input.content });
  const userId = viewerId(context);
  const sessionId = decodeId(input.sessionId, "Session");
  const { pool, config, readiness } = context.services;
  const read = await queryOne<AcceptReadRow>(pool, acceptRead(userId, sessionId));
  const scope = sessionScopeOf(read, sessionId);
  if (!read || !scope) throw new NotFoundError("Session");
  const plan = planAgents(scope.mode, scope.roster, content);
  if (plan.kind === "noValidTags") throw new NoValidTagsError(plan.availableAgentKeys);
  if (plan.kind === "noAgents") throw new ValidationError([{ path: ["input", "sessionId"], message: "The room has no agents; assign one first." }]);
  if (plan.kind === "manager") assertModeAvailable("orchestrator", readiness);
  const [managerAlias, outputs, wallet, room] = await Promise.all([
    plan.kind === "manager" ? readManagerModel(pool) : DEFAULT_MANAGER_MODEL,
    queryOne<{ mean_output: Record<string, number> }>(pool, meanOutputSql(userId)),
    currentWallet(context, userId),
    scope.room ? roomBudgetLeft(pool, scope.room.id) : null,
  ]);
  const meanOutput: Partial<Record<ModelAliasName, number>> = {};
  for (const [alias, mean] of Object.entries(outputs!.mean_output)) if (isModelAlias(alias)) meanOutput[alias] = Math.round(mean);
  const cost = estimate({
    scope,
    agents: plan.kind === "agents" ? plan.agents : null,
    managerAlias,
    history: sessionHistory(read.summary, read.history ?? []),
    content,
    meanOutput,
    limits: { contextMaxOutputTokens: config.contextMaxOutputTokens, minOutputTokens: config.minOutputTokens },
  });
  return {
    min: creditsText(cost.min),
    expected: creditsText(cost.expected),
    max: creditsText(cost.max),
    firstCall: creditsText(cost.firstCall),
    required: creditsText(cost.required),
    mode: scope.mode,
    available: wallet.available,
    roomAvailable: room?.available ?? null,
  };
}
