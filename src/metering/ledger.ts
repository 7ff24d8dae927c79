// One llm_call_events row per provider call (SPEC 4). A row is produced once,
// as plain JSON with its final id, when the call returns: the disk buffer
// keeps exactly that JSON, and every write of it (with its step, alone, or
// replayed after a restart) inserts the same row, so a write repeated after
// an unknown outcome is a no-op instead of a second charge.
import { type Sql, sql } from "../db/sql.ts";
import { createHash, randomUUID } from "node:crypto";
import type { ProviderAttempt } from "../llm/types.ts";
import { storableText } from "../db/storableText.ts";
import { chargeFor } from "./charge.ts";
import { creditsText, type CreditUnits } from "./creditUnits.ts";
import { CURRENT_PRICING_VERSION } from "./pricing.ts";
import { exceedsBound, type CallBound } from "./callBound.ts";

/** Attribution (SPEC section 4): room calls set session_id, direct calls set direct_session_id, never both. */
export type CallScope = { kind: "room"; roomId: string; sessionId: string } | { kind: "direct"; sessionId: string };

export interface CallAttribution {
  userId: string;
  scope: CallScope;
  turnId: string | null;
  stepId: string | null;
  agentId: string | null;
  turnMode: string | null;
}

/** The row as stored, column by column; decimals as strings, the time as an ISO instant. */
export interface LedgerRow {
  id: string;
  user_id: string;
  room_id: string | null;
  direct_session_id: string | null;
  session_id: string | null;
  turn_id: string | null;
  step_id: string | null;
  agent_id: string | null;
  provider: string;
  model_alias: string;
  provider_model: string;
  input_tokens_fresh: number;
  input_tokens_cached: number;
  output_tokens: number;
  total_tokens: number;
  oe_tokens_computed: string;
  provider_cost_usd: string;
  credits_burned: string;
  latency_ms: number | null;
  status: string;
  pricing_version: string;
  request_id: string | null;
  call_kind: string | null;
  turn_mode: string | null;
  usage_out_of_range: boolean;
  reported_usage: unknown;
  bound_input_tokens: number | null;
  bound_output_tokens: number | null;
  exceeds_bound: boolean;
  /** Decimal string: what was held for this call (its debit settles the cost from it and releases the rest); null when nothing was. */
  hold_credits: string | null;
  created_at: string;
}

/** What the turn engine knows of a call beyond the provider's answer: its bound, and what it held for it (SPEC 14). */
export interface CallLimits {
  bound: Pick<CallBound, "inputTokens" | "outputTokens">;
  held: CreditUnits | null;
}

const REQUEST_ID_MAX = 128;

/** request_id is varchar(128): a longer provider id is kept as its digest, which stays unique and stable. */
function storableRequestId(requestId: string | null): string | null {
  if (requestId === null) return null;
  const text = storableText(requestId);
  return text.length <= REQUEST_ID_MAX ? text : `sha256:${createHash("sha256").update(text).digest("hex")}`;
}

/** The ledger row for one provider call, produced the moment it returned. */
export function ledgerRowFor(attribution: CallAttribution, attempt: ProviderAttempt, limits: CallLimits | null = null, at = new Date()): LedgerRow {
  const charge = chargeFor(attempt.usage, attempt.modelAlias, CURRENT_PRICING_VERSION);
  const { scope } = attribution;
  const aboveBound = limits !== null && exceedsBound(charge, limits.bound);
  return {
    id: randomUUID(),
    user_id: attribution.userId,
    room_id: scope.kind === "room" ? scope.roomId : null,
    direct_session_id: scope.kind === "direct" ? scope.sessionId : null,
    session_id: scope.kind === "room" ? scope.sessionId : null,
    turn_id: attribution.turnId,
    step_id: attribution.stepId,
    agent_id: attribution.agentId,
    provider: attempt.provider,
    model_alias: attempt.modelAlias,
    provider_model: attempt.providerModel,
    input_tokens_fresh: charge.fresh,
    input_tokens_cached: charge.cached,
    output_tokens: charge.output,
    total_tokens: charge.total,
    oe_tokens_computed: creditsText(charge.oeTokens),
    provider_cost_usd: charge.providerCostUsd,
    credits_burned: creditsText(charge.credits),
    latency_ms: attempt.latencyMs,
    status: attempt.status,
    pricing_version: charge.pricingVersion,
    request_id: storableRequestId(attempt.requestId),
    call_kind: attempt.callKind,
    turn_mode: attribution.turnMode,
    usage_out_of_range: charge.outOfRange,
    reported_usage: charge.outOfRange || aboveBound ? attempt.usage : null,
    bound_input_tokens: limits?.bound.inputTokens ?? null,
    bound_output_tokens: limits?.bound.outputTokens ?? null,
    exceeds_bound: aboveBound,
    hold_credits: limits?.held == null ? null : creditsText(limits.held),
    created_at: at.toISOString(),
  };
}

/**
 * Inserts rows given as one JSON parameter (one statement shape for any
 * number of rows). A row already there (same id, or same provider request id:
 * uq_llm_call_events_request_id) is skipped. References to a room, session,
 * turn or step deleted meanwhile become NULL, as ON DELETE SET NULL would have
 * made them, so a row replayed late still commits.
 */
export function ledgerInsertSql(rows: LedgerRow[]): Sql {
  return sql`
    INSERT INTO llm_call_events (
      id, user_id, room_id, direct_session_id, session_id, turn_id, step_id, agent_id,
      provider, model_alias, provider_model, input_tokens_fresh, input_tokens_cached,
      output_tokens, total_tokens, oe_tokens_computed, provider_cost_usd, credits_burned,
      latency_ms, status, pricing_version, request_id, call_kind, turn_mode, usage_out_of_range, reported_usage,
      bound_input_tokens, bound_output_tokens, exceeds_bound, hold_credits, created_at)
    SELECT r.id, r.user_id, (SELECT id FROM rooms WHERE id = r.room_id), r.direct_session_id, (SELECT id FROM sessions WHERE id = r.session_id),
           (SELECT id FROM turns WHERE id = r.turn_id), (SELECT id FROM turn_steps WHERE id = r.step_id), r.agent_id,
           r.provider, r.model_alias, r.provider_model, r.input_tokens_fresh, r.input_tokens_cached,
           r.output_tokens, r.total_tokens, r.oe_tokens_computed, r.provider_cost_usd, r.credits_burned,
           r.latency_ms, r.status, r.pricing_version, r.request_id, r.call_kind, r.turn_mode, r.usage_out_of_range, r.reported_usage,
           r.bound_input_tokens, r.bound_output_tokens, coalesce(r.exceeds_bound, false), r.hold_credits, r.created_at
      FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS r(
           id uuid, user_id uuid, room_id uuid, direct_session_id varchar, session_id uuid, turn_id uuid, step_id uuid, agent_id varchar,
           provider varchar, model_alias varchar, provider_model varchar, input_tokens_fresh int, input_tokens_cached int,
           output_tokens int, total_tokens int, oe_tokens_computed numeric, provider_cost_usd numeric, credits_burned numeric,
           latency_ms int, status varchar, pricing_version varchar, request_id varchar, call_kind varchar, turn_mode varchar,
           usage_out_of_range boolean, reported_usage jsonb, bound_input_tokens int, bound_output_tokens int, exceeds_bound boolean,
           hold_credits numeric, created_at timestamptz)
    ON CONFLICT DO NOTHING`;
}
