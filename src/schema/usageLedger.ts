// The viewer's raw ledger rows (llm_call_events) as a connection, newest first.
import { builder } from "../builder.ts";
import type { LedgerRow } from "../usage/ledgerPage.ts";
import { callsAboveBound, viewerLedger } from "../resolvers/usage.ts";
import { ModelAlias } from "./domainEnums.ts";
import { requiresReady } from "./readinessDirective.ts";
import { ViewerRef } from "./viewer.ts";

const LlmCallEventRef = builder.objectRef<LedgerRow>("LlmCallEvent").implement({
  description: "One provider call, successful or not, exactly as recorded in the usage ledger.",
  fields: (t) => ({
    id: t.exposeID("id"),
    createdAt: t.field({ type: "DateTime", resolve: (row) => row.created_at }),
    provider: t.exposeString("provider"),
    modelAlias: t.exposeString("model_alias"),
    providerModel: t.exposeString("provider_model"),
    status: t.exposeString("status", { description: "success, error, timeout, rate_limited, invalid_response." }),
    stepKind: t.exposeString("call_kind", { nullable: true, description: "agent, manager_route, repair, manager_continue, synthesis or summary." }),
    mode: t.exposeString("turn_mode", { nullable: true }),
    roomId: t.exposeID("room_id", { nullable: true }),
    sessionId: t.exposeID("session_id", { nullable: true, description: "The room session or direct chat the call belongs to." }),
    turnId: t.exposeID("turn_id", { nullable: true }),
    stepId: t.exposeID("step_id", { nullable: true }),
    agentId: t.exposeID("agent_id", { nullable: true }),
    inputTokensFresh: t.exposeInt("input_tokens_fresh"),
    inputTokensCached: t.exposeInt("input_tokens_cached"),
    outputTokens: t.exposeInt("output_tokens"),
    totalTokens: t.exposeInt("total_tokens"),
    oeTokens: t.expose("oe_tokens", { type: "Decimal" }),
    credits: t.expose("credits", { type: "Decimal", description: "Credits burned, as charged under pricingVersion." }),
    providerCostUsd: t.expose("cost", { type: "Decimal" }),
    latencyMs: t.exposeInt("latency_ms", { nullable: true }),
    pricingVersion: t.exposeString("pricing_version"),
    userId: t.exposeID("user_id"),
    boundInputTokens: t.exposeInt("bound_input_tokens", {
      nullable: true,
      description: "The most input tokens the request sent could be counted (docs/credits.md); null for calls from before bounds.",
    }),
    boundOutputTokens: t.exposeInt("bound_output_tokens", { nullable: true, description: "The max_tokens the request sent." }),
    exceedsBound: t.exposeBoolean("exceeds_bound", { description: "The provider reported more than the request allows: stored as reported, never truncated." }),
    heldCredits: t.expose("hold_credits", { type: "Decimal", nullable: true, description: "Credits held for this call before it started; null when nothing was held." }),
  }),
});

const LlmCallEventFilterInput = builder.inputType("LlmCallEventFilterInput", {
  description: "Optional narrowing; from/to bound a half-open UTC range (at most 366 days when both are given).",
  fields: (t) => ({
    from: t.field({ type: "DateTime" }),
    to: t.field({ type: "DateTime" }),
    roomId: t.id(),
    sessionId: t.id({ description: "A room session or a direct chat." }),
    modelAlias: t.field({ type: ModelAlias }),
  }),
});

builder.queryField("callsAboveBound", (t) =>
  t.connection({
    type: LlmCallEventRef,
    description: "Owners and analysts: every user's calls whose provider report exceeded the call's bound (exceedsBound), newest first. Each is stored as reported; review them against the provider.",
    authScopes: { admin: true },
    directives: requiresReady,
    resolve: (_root, args, context) => callsAboveBound(args, context),
  }),
);

builder.objectField(ViewerRef, "llmCallEvents", (t) =>
  t.connection({
    type: LlmCallEventRef,
    description: "The viewer's own ledger rows, newest first (forward paging, first ≤ 100, default 50).",
    authScopes: { authenticated: true },
    directives: requiresReady,
    args: { filter: t.arg({ type: LlmCallEventFilterInput }) },
    resolve: (_viewer, args, context) => viewerLedger(args, context),
  }),
);
