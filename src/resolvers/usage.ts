// The viewer's usage: reports over a range or over one room, session or
// turn, and pages of raw ledger rows. Always confined to the viewer's rows.
import { GraphQLError } from "graphql";
import type { Context } from "../context.ts";
import { DomainError, ValidationError } from "../errors.ts";
import { viewerId } from "./viewer.ts";
import { isUuid } from "./turnQueries.ts";
import { resolvePricing } from "../usage/pricingSql.ts";
import { parseTimeRange, type TimeRange } from "../usage/range.ts";
import { usageReport, type UsageDimension, type UsageReport } from "../usage/userUsage.ts";
import { LEDGER_PAGE, ROWS_ABOVE_BOUND, encodeLedgerCursor, ledgerPage, viewerLedgerRows, type LedgerRow } from "../usage/ledgerPage.ts";
import type { UsageFilter } from "../usage/scope.ts";
import type { Sql } from "../db/sql.ts";

export interface UsageFilterArgs {
  from: Date;
  to: Date;
  roomId?: string | number | null;
  sessionId?: string | number | null;
  modelAlias?: string | null;
}

/** Queries return data, not unions: expected failures become coded GraphQL errors. */
export async function asQueryResult<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ValidationError) {
      throw new GraphQLError(error.message, { extensions: { code: error.code, issues: error.issues } });
    }
    if (error instanceof DomainError) throw new GraphQLError(error.message, { extensions: { code: error.code } });
    throw error;
  }
}

function optionalUuid(value: string | number | null | undefined, field: string): string | null {
  if (value === null || value === undefined) return null;
  const id = String(value);
  if (!isUuid(id)) throw new ValidationError([{ path: ["filter", field], message: "Not a valid id." }]);
  return id.toLowerCase();
}

function parseFilter(filter: Omit<UsageFilterArgs, "from" | "to">): UsageFilter {
  return {
    roomId: optionalUuid(filter.roomId, "roomId"),
    sessionId: optionalUuid(filter.sessionId, "sessionId"),
    modelAlias: filter.modelAlias ?? null,
  };
}

export function viewerUsage(
  args: { filter: UsageFilterArgs; groupBy?: readonly UsageDimension[] | null; pricingVersion?: string | null },
  context: Context,
): Promise<UsageReport> {
  return asQueryResult(async () => {
    const range = parseTimeRange(args.filter, ["filter"]);
    const scope = { kind: "viewer" as const, userId: viewerId(context), range, filter: parseFilter(args.filter) };
    return usageReport(context.services.prisma, scope, args.groupBy ?? [], resolvePricing(args.pricingVersion));
  });
}

export type ScopeKind = "room" | "session" | "turn";

export function scopedUsage(
  kind: ScopeKind,
  id: string,
  args: { groupBy?: readonly UsageDimension[] | null; pricingVersion?: string | null },
  context: Context,
): Promise<UsageReport> {
  return asQueryResult(async () => {
    const userId = viewerId(context);
    const pricing = resolvePricing(args.pricingVersion);
    const groupBy = args.groupBy ?? [];
    if (kind === "room") return usageReport(context.services.prisma, { kind, userId, roomId: id }, groupBy, pricing);
    if (kind === "session") return usageReport(context.services.prisma, { kind, userId, sessionId: id }, groupBy, pricing);
    return usageReport(context.services.prisma, { kind, userId, turnId: id }, groupBy, pricing);
  });
}

export interface LedgerArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
  filter?: ({ from?: Date | null; to?: Date | null } & Omit<UsageFilterArgs, "from" | "to">) | null;
}

function parseLedgerArgs(args: LedgerArgs): { first: number; range: Partial<TimeRange> } {
  if (args.last != null || args.before != null) {
    throw new ValidationError([{ path: ["last"], message: "The ledger pages forward only (first/after), newest first." }]);
  }
  const first = args.first ?? LEDGER_PAGE.defaultSize;
  if (!Number.isInteger(first) || first < 1 || first > LEDGER_PAGE.maxSize) {
    throw new ValidationError([{ path: ["first"], message: `first must be between 1 and ${LEDGER_PAGE.maxSize}.` }]);
  }
  const { from, to } = args.filter ?? {};
  return { first, range: from && to ? parseTimeRange({ from, to }, ["filter"]) : { from: from ?? undefined, to: to ?? undefined } };
}

export function viewerLedger(args: LedgerArgs, context: Context) {
  return ledgerConnection(args, context, (range) => viewerLedgerRows(viewerId(context), range, parseFilter(args.filter ?? {})));
}

/** Admins: every user's calls whose provider report exceeded the call's bound, newest first (SPEC 14). */
export function callsAboveBound(args: LedgerArgs, context: Context) {
  return ledgerConnection({ ...args, filter: null }, context, () => ROWS_ABOVE_BOUND);
}

function ledgerConnection(args: LedgerArgs, context: Context, rowsOf: (range: Partial<TimeRange>) => Sql) {
  return asQueryResult(async () => {
    const { first, range } = parseLedgerArgs(args);
    const page = await ledgerPage(context.services.prisma, { rows: rowsOf(range), first, after: args.after ?? null });
    const edges = page.rows.map((node: LedgerRow) => ({ cursor: encodeLedgerCursor(node), node }));
    return {
      edges,
      pageInfo: { hasNextPage: page.hasNextPage, hasPreviousPage: false, startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null },
    };
  });
}
