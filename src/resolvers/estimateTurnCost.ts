// estimateTurnCost: what a message would cost in the session as it stands
// (mode, roster, history), without any provider call. The computation is
// src/credits/estimate.ts; `max` is the hold a send would place.
import { z } from "zod";
import type { Context } from "../context.ts";
import { NoValidTagsError, NotFoundError, ValidationError } from "../errors.ts";
import { estimatePinned } from "../context-budget/assembly.ts";
import { estimateTokens, estimateTokensOfLength } from "../llm/tokenEstimate.ts";
import { isModelAlias, type ModelAliasName } from "../llm/models.ts";
import { readManagerModel } from "../settings/managerModel.ts";
import { planAgents } from "../turns/planning.ts";
import { agentLayers, managerRoutingPrompt, roomFrame } from "../turns/prompts.ts";
import { loadSessionScope } from "../turns/sessionScopeSql.ts";
import { MAX_MESSAGE_CHARS } from "../turns/accept.ts";
import { isStorableText } from "../db/storableText.ts";
import { estimateTurnCost as estimate, type CostEstimate } from "../turns/costEstimate.ts";
import { turnCallsOf } from "../turns/turnHold.ts";
import { roomBudgetLeft } from "../credits/holdSql.ts";
import { currentWallet } from "./credits.ts";
import { decodeId, parseInput, STORABLE_MESSAGE } from "../validation/input.ts";
import { assertModeAvailable } from "../gates/modeGate.ts";
import { viewerId } from "./viewer.ts";

const estimateInput = z.object({ content: z.string().trim().min(1, "must not be empty").max(MAX_MESSAGE_CHARS).refine(isStorableText, STORABLE_MESSAGE) });

/** $1 user, $2 session: characters of the history a turn would start from, and the user's mean output per model. */
const HISTORY_AND_OUTPUTS = `
  WITH latest AS (
    SELECT through_turn_seq, length(summary_text) AS chars FROM session_summaries
     WHERE session_id = $2 ORDER BY created_at DESC, through_turn_seq DESC LIMIT 1)
  SELECT coalesce((SELECT chars FROM latest), 0)
         + coalesce((SELECT sum(length(m.content)) FROM turns t JOIN messages m ON m.turn_id = t.id
                      WHERE t.session_id = $2 AND t.seq > coalesce((SELECT through_turn_seq FROM latest), 0)
                        AND m.visibility = 'shared' AND m.role IN ('user', 'agent', 'synthesis')), 0) AS history_chars,
         (SELECT coalesce(json_object_agg(model_alias, mean), '{}')
            FROM (SELECT model_alias, avg(output_tokens)::float8 AS mean FROM llm_call_events
                   WHERE user_id = $1 AND status = 'success' AND call_kind = 'agent' AND created_at > now() - interval '30 days'
                   GROUP BY model_alias) outputs) AS mean_output`;

export interface TurnCostEstimate extends CostEstimate {
  mode: string;
  available: string;
  /** What is left of the room's monthly budget; null without one. */
  roomAvailable: string | null;
}

export async function estimateTurnCost(input: { sessionId: string | number; content: string }, context: Context): Promise<TurnCostEstimate> {
  const { content } = parseInput(estimateInput, { content: input.content });
  const userId = viewerId(context);
  const sessionId = decodeId(input.sessionId, "Session");
  const scope = await loadSessionScope(context.services.pool, userId, sessionId);
  if (!scope) throw new NotFoundError("Session");
  const plan = planAgents(scope.mode, scope.roster, content);
  if (plan.kind === "noValidTags") throw new NoValidTagsError(plan.availableAgentKeys);
  if (plan.kind === "noAgents") throw new ValidationError([{ path: ["input", "sessionId"], message: "The room has no agents; assign one first." }]);
  if (plan.kind === "manager") assertModeAvailable("orchestrator", context.services.readiness);
  const managerAlias = plan.kind === "manager" ? await readManagerModel(context.services.pool) : null;
  const agents = plan.kind === "agents" ? plan.agents : scope.roster;
  const frame = roomFrame(scope.room, scope.mode);
  const planned = agents.map((agent) => ({
    alias: agent.modelAlias,
    pinnedTokens: estimatePinned({ systemLayers: agentLayers(scope.mode, agent, null), roomFrame: frame, summaryBlock: null, history: [], unresolvedTurn: [], currentMessage: content }),
  }));
  const calls = turnCallsOf(agents, managerAlias);
  const [{ rows }, wallet, room] = await Promise.all([
    context.services.pool.query<{ history_chars: string; mean_output: Record<string, number> }>(HISTORY_AND_OUTPUTS, [userId, sessionId]),
    currentWallet(context, userId),
    scope.room ? roomBudgetLeft(context.services.pool, scope.room.id) : null,
  ]);
  const meanOutput: Partial<Record<ModelAliasName, number>> = {};
  for (const [alias, mean] of Object.entries(rows[0]!.mean_output)) if (isModelAlias(alias)) meanOutput[alias] = Math.round(mean);
  const cost = estimate({
    calls,
    planned,
    managerPinnedTokens: estimateTokens(managerRoutingPrompt(scope.roster)) + estimateTokens(content),
    historyTokens: estimateTokensOfLength(Number(rows[0]!.history_chars)),
    meanOutput,
    limits: { contextMaxOutputTokens: context.services.config.contextMaxOutputTokens, maxRetries: context.services.config.llm.maxRetries },
  });
  return { ...cost, mode: scope.mode, available: wallet.available, roomAvailable: room?.available ?? null };
}
