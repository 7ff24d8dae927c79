// Types shared by user and admin usage reports: the sums every report
// carries (UsageSums), and the shape of a user report with its groups.
import { builder } from "../builder.ts";
import { AgentRef } from "./agent.ts";
import { viewerAgent } from "../resolvers/agentsLoader.ts";
import type { UsageAmounts } from "../usage/measures.ts";
import { USAGE_DIMENSIONS, type UsageGroup, type UsageReport, type UsageTotals } from "../usage/userUsage.ts";

export const UsageDimensionEnum = builder.enumType("UsageDimension", {
  description: "What usage groups by. DAY is the UTC day of the call; STEP_KIND is the call's purpose (agent, manager_route, repair, manager_continue, synthesis, summary).",
  values: USAGE_DIMENSIONS,
});

const TOKENS = "Integer; a Float because sums can exceed GraphQL's 32-bit Int.";

export const UsageSumsRef = builder.interfaceRef<UsageAmounts>("UsageSums").implement({
  description: "Sums over ledger rows. Failed calls count (they may have consumed tokens); an empty scope sums to zero.",
  fields: (t) => ({
    calls: t.exposeInt("calls"),
    errorCount: t.exposeInt("errorCount", { description: "Calls whose status is not success." }),
    inputTokensFresh: t.float({ description: TOKENS, resolve: (sums) => sums.inputTokensFresh }),
    inputTokensCached: t.float({ description: TOKENS, resolve: (sums) => sums.inputTokensCached }),
    outputTokens: t.float({ description: TOKENS, resolve: (sums) => sums.outputTokens }),
    totalTokens: t.float({ description: TOKENS, resolve: (sums) => sums.totalTokens }),
    oeTokens: t.expose("oeTokens", { type: "Decimal", description: "fresh × 0.35 + cached × 0.10 + output, per the pricing used." }),
    credits: t.expose("credits", { type: "Decimal", description: "As charged, or recomputed under the requested pricing version." }),
    providerCostUsd: t.expose("providerCostUsd", { type: "Decimal", description: "What the provider reported it charged, in USD." }),
  }),
});

export const UsageAmountsRef = builder.objectRef<UsageAmounts>("UsageAmounts").implement({
  interfaces: [UsageSumsRef],
});

export const UsageTotalsRef = builder.objectRef<UsageTotals>("UsageTotals").implement({
  interfaces: [UsageSumsRef],
  fields: (t) => ({
    latencyP50Ms: t.exposeInt("latencyP50Ms", { description: "Nearest-rank median latency of calls that recorded one; 0 when none did." }),
    latencyP95Ms: t.exposeInt("latencyP95Ms", { description: "Nearest-rank 95th percentile latency; 0 when no call recorded one." }),
  }),
});

const UsageGroupRef = builder.objectRef<UsageGroup>("UsageGroup").implement({
  description: "One combination of the grouped dimensions. A key is null when not grouped by it, or when the calls have no value for it (e.g. no room in a direct chat).",
  fields: (t) => ({
    modelAlias: t.string({ nullable: true, resolve: (group) => group.key.modelAlias }),
    day: t.string({ nullable: true, description: "UTC day, YYYY-MM-DD.", resolve: (group) => group.key.day }),
    roomId: t.id({ nullable: true, resolve: (group) => group.key.roomId }),
    agentId: t.id({ nullable: true, resolve: (group) => group.key.agentId }),
    agent: t.field({
      type: AgentRef,
      nullable: true,
      description: "The agent of agentId (deleted ones too), when it is yours.",
      resolve: (group, _args, context) => (group.key.agentId ? viewerAgent(group.key.agentId, context) : null),
    }),
    mode: t.string({ nullable: true, description: "manual, roundtable, orchestrator or direct.", resolve: (group) => group.key.mode }),
    stepKind: t.string({ nullable: true, description: "agent, manager_route, repair, manager_continue, synthesis or summary.", resolve: (group) => group.key.stepKind }),
    totals: t.field({ type: UsageTotalsRef, resolve: (group) => group }),
  }),
});

export const UsageReportRef = builder.objectRef<UsageReport>("UsageReport").implement({
  fields: (t) => ({
    from: t.field({ type: "DateTime", nullable: true, description: "Inclusive; null for an all-time scope.", resolve: (report) => report.range?.from ?? null }),
    to: t.field({ type: "DateTime", nullable: true, description: "Exclusive; null for an all-time scope.", resolve: (report) => report.range?.to ?? null }),
    groupBy: t.field({ type: [UsageDimensionEnum], resolve: (report) => report.groupBy }),
    repriced: t.exposeBoolean("repriced", { description: "True when credits were recomputed under a requested pricing version." }),
    pricingVersions: t.exposeStringList("pricingVersions", {
      description: "The version credits were recomputed with, or, as charged, the versions stored on the rows counted.",
    }),
    totals: t.field({ type: UsageTotalsRef, resolve: (report) => report.totals }),
    groups: t.field({ type: [UsageGroupRef], resolve: (report) => report.groups }),
  }),
});
