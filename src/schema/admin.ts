// Admin analytics (owner or analyst) over whole UTC days, and the owner-only
// orchestrator manager model setting. Non-admins get FORBIDDEN on every field.
import { builder } from "../builder.ts";
import type { AdminUsageEntry, AdminUsageRequest } from "../usage/adminUsage.ts";
import { USAGE_RANKINGS } from "../usage/adminUsage.ts";
import type { ActiveUsersDay, ActiveUsersReport } from "../usage/activeUsers.ts";
import { activeUsersReport, adminPricing, adminUsageRanking, adminUsageRequest, adminUsageTotals } from "../resolvers/admin.ts";
import { requiresReady } from "./readinessDirective.ts";
import { UsageAmountsRef, UsageSumsRef } from "./usageTypes.ts";

const UsageRankingEnum = builder.enumType("UsageRanking", { values: USAGE_RANKINGS });

export const UsageRangeInput = builder.inputType("UsageRangeInput", {
  description: "Whole UTC days [from, to): both UTC midnights, from before to, at most 366 days.",
  fields: (t) => ({
    from: t.field({ type: "DateTime", required: true }),
    to: t.field({ type: "DateTime", required: true }),
  }),
});

const AdminUsageEntryRef = builder.objectRef<AdminUsageEntry>("AdminUsageEntry").implement({
  description: "Usage of one user, one model, or one user with one model. Compare providerCostUsd (what we paid) with credits (what we charged).",
  interfaces: [UsageSumsRef],
  fields: (t) => ({
    userId: t.exposeID("userId", { nullable: true }),
    email: t.exposeString("email", { nullable: true }),
    modelAlias: t.exposeString("modelAlias", { nullable: true }),
  }),
});

const AdminUsageReportRef = builder.objectRef<AdminUsageRequest>("AdminUsageReport").implement({
  fields: (t) => ({
    from: t.field({ type: "DateTime", resolve: (request) => request.range.from }),
    to: t.field({ type: "DateTime", resolve: (request) => request.range.to }),
    repriced: t.boolean({ resolve: (request) => request.pricing.kind === "repriced" }),
    pricingVersions: t.stringList({
      description: "The version credits were recomputed with, or, as charged, the versions stored on the rows counted.",
      resolve: async (request, _args, context) => (await adminPricing(request, context)).pricingVersions,
    }),
    totals: t.field({ type: UsageAmountsRef, resolve: (request, _args, context) => adminUsageTotals(request, context) }),
    topUsers: t.field({
      type: [AdminUsageEntryRef],
      args: {
        by: t.arg({ type: UsageRankingEnum, required: true, defaultValue: "PROVIDER_COST" }),
        first: t.arg.int({ description: "How many entries (default 20)." }),
      },
      resolve: (request, args, context) => adminUsageRanking(request, "user", args, context),
    }),
    topModels: t.field({
      type: [AdminUsageEntryRef],
      args: {
        by: t.arg({ type: UsageRankingEnum, required: true, defaultValue: "PROVIDER_COST" }),
        first: t.arg.int({ description: "How many entries (default 20)." }),
      },
      resolve: (request, args, context) => adminUsageRanking(request, "model", args, context),
    }),
    byUserAndModel: t.field({
      type: [AdminUsageEntryRef],
      description: "Per user × model, ranked (at most 1,000 entries).",
      args: {
        by: t.arg({ type: UsageRankingEnum, required: true, defaultValue: "PROVIDER_COST" }),
        first: t.arg.int({ description: "How many entries (default 100)." }),
      },
      resolve: (request, args, context) => adminUsageRanking(request, "userModel", args, context),
    }),
  }),
});

const ActiveUsersDayRef = builder.objectRef<ActiveUsersDay>("ActiveUsersDay").implement({
  fields: (t) => ({
    day: t.exposeString("day", { description: "UTC day, YYYY-MM-DD." }),
    dau: t.exposeInt("dau", { description: "Users with at least one LLM call (any status) on this UTC day." }),
    wau: t.exposeInt("wau", { description: "Users active on at least one of the 7 UTC days ending with this one." }),
    mau: t.exposeInt("mau", { description: "Users active on at least one of the 30 UTC days ending with this one." }),
    dauOverMau: t.expose("dauOverMau", { type: "Decimal", description: "dau / mau, 4 decimals; 0 when mau is 0." }),
  }),
});

const ActiveUsersReportRef = builder.objectRef<ActiveUsersReport>("ActiveUsersReport").implement({
  description: "Active = made at least one LLM call that UTC day. Trailing windows look back before the range start.",
  fields: (t) => ({
    from: t.field({ type: "DateTime", resolve: (report) => report.range.from }),
    to: t.field({ type: "DateTime", resolve: (report) => report.range.to }),
    days: t.field({ type: [ActiveUsersDayRef], resolve: (report) => report.days }),
    distinctUsers: t.exposeInt("distinctUsers", { description: "Users active on at least one day of the range." }),
    averageDau: t.expose("averageDau", { type: "Decimal", description: "Mean DAU over the range's days, 4 decimals." }),
  }),
});

builder.queryFields((t) => ({
  adminUsage: t.field({
    type: AdminUsageReportRef,
    description: "Usage across users over whole UTC days. As charged it reads the daily rollup; repriced it reads the ledger.",
    authScopes: { admin: true },
    directives: requiresReady,
    args: {
      range: t.arg({ type: UsageRangeInput, required: true }),
      pricingVersion: t.arg.string({ description: "Recompute credits from stored token counts under this version; omitted: as charged." }),
    },
    resolve: (_root, args) => adminUsageRequest(args),
  }),
  activeUsers: t.field({
    type: ActiveUsersReportRef,
    description: "DAU, WAU, MAU and DAU/MAU for each UTC day of the range.",
    authScopes: { admin: true },
    directives: requiresReady,
    args: { range: t.arg({ type: UsageRangeInput, required: true }) },
    resolve: (_root, args, context) => activeUsersReport(args, context),
  }),
}));
