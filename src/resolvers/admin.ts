// Admin analytics (owner or analyst): usage across users and active users,
// over whole UTC days. The report object only carries the validated request;
// each field runs its own query, so a client pays only for what it selects.
import type { Context } from "../context.ts";
import { ValidationError } from "../errors.ts";
import { asQueryResult } from "./usage.ts";
import { resolvePricing, pricingStatement, type PricingStatement } from "../usage/pricingSql.ts";
import { parseDayRange } from "../usage/range.ts";
import { adminRanking, adminTotals, chargedVersions, type AdminGrouping, type AdminUsageEntry, type AdminUsageRequest, type UsageRanking } from "../usage/adminUsage.ts";
import { activeUsers, type ActiveUsersReport } from "../usage/activeUsers.ts";
import type { UsageAmounts } from "../usage/measures.ts";

export const RANKING_LIMITS = { top: { defaultSize: 20, maxSize: 100 }, userModel: { defaultSize: 100, maxSize: 1000 } } as const;

export interface RangeArgs {
  range: { from: Date; to: Date };
}

export function adminUsageRequest(args: RangeArgs & { pricingVersion?: string | null }): Promise<AdminUsageRequest> {
  return asQueryResult(async () => ({ range: parseDayRange(args.range, ["range"]), pricing: resolvePricing(args.pricingVersion) }));
}

export function adminPricing(request: AdminUsageRequest, context: Context): Promise<PricingStatement> {
  return asQueryResult(async () =>
    pricingStatement(request.pricing, request.pricing.kind === "asCharged" ? await chargedVersions(context.services.prisma, request.range) : []),
  );
}

export function adminUsageTotals(request: AdminUsageRequest, context: Context): Promise<UsageAmounts> {
  return asQueryResult(() => adminTotals(context.services.prisma, request));
}

export function adminUsageRanking(
  request: AdminUsageRequest,
  grouping: AdminGrouping,
  args: { by: UsageRanking; first?: number | null },
  context: Context,
): Promise<AdminUsageEntry[]> {
  return asQueryResult(async () => {
    const limits = grouping === "userModel" ? RANKING_LIMITS.userModel : RANKING_LIMITS.top;
    const first = args.first ?? limits.defaultSize;
    if (!Number.isInteger(first) || first < 1 || first > limits.maxSize) {
      throw new ValidationError([{ path: ["first"], message: `first must be between 1 and ${limits.maxSize}.` }]);
    }
    return adminRanking(context.services.prisma, request, grouping, args.by, first);
  });
}

export function activeUsersReport(args: RangeArgs, context: Context): Promise<ActiveUsersReport> {
  return asQueryResult(async () => activeUsers(context.services.prisma, parseDayRange(args.range, ["range"])));
}
