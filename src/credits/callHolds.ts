// Holding credits for a provider call before it starts (SPEC 14), through
// credit_hold_call (sql/credit_hold_call.sql): the turn's first call inside
// the transaction that accepts the turn, each later call (retries and
// summaries included) on its own just before it is made. The debit of a
// turn's call's ledger row settles its cost from the hold and releases the
// rest (sql/credit_debit_ledger_row.sql). A metered preview holds its one call
// when it is reserved and releases the hold once the call's row is recorded.
import { z } from "zod";
import type { CreditPlanName } from "../config/credits.ts";
import { queryOne, sql, type Queryable, type Sql } from "../db/sql.ts";
import type { HotStatements } from "../db/statements.ts";
import { InsufficientCreditsError, RoomBudgetExceededError } from "../errors.ts";
import { creditsText, creditUnits, type CreditUnits } from "../metering/creditUnits.ts";

/** Whose credits a turn's calls hold, and how strictly. */
export interface HoldScope {
  userId: string;
  /** The hold's key: the turn's id, or a metered preview's. */
  turnId: string;
  /** The key is a turn (its hold entries name it); false for a preview. */
  ofTurn: boolean;
  /** The turn's room, whose monthly budget (if any) its holds count against. */
  roomId: string | null;
  defaultPlan: CreditPlanName;
  /** enforce: hold only what is available (down to the least amount) or refuse; warn: hold the whole amount regardless. */
  enforce: boolean;
}

export type HoldOutcome =
  | { placed: true; held: CreditUnits }
  | { placed: false; refusedBy: "wallet" | "room" | "ended"; available: string; roomAvailable: string | null; monthlyBudget: string | null };

/** What credit_hold_call answers (amounts as text); parsed where it arrives other than as a query's row (a refusal's error detail). */
export const holdRow = z.object({
  placed: z.boolean(),
  held: z.string(),
  refused_by: z.enum(["wallet", "room", "ended"]).nullable(),
  available_before: z.string(),
  room_available_before: z.string().nullable(),
  monthly_budget: z.string().nullable(),
});

export type HoldRow = z.infer<typeof holdRow>;

/**
 * The statement that holds up to `amount` for the call, at least `least`
 * (under enforce): alone (holdForCall), or inside the statement that inserts
 * the turn or starts its step, saving a round trip.
 */
export function holdCallSql(scope: HoldScope, amount: CreditUnits, least: CreditUnits): Sql {
  return sql`SELECT placed, held::text, refused_by, available_before::text, room_available_before::text, monthly_budget::text
               FROM credit_hold_call(${scope.userId}::uuid, ${scope.turnId}::uuid, ${creditsText(amount)}::numeric, ${creditsText(least)}::numeric,
                                     ${scope.defaultPlan}, ${scope.enforce}, ${scope.roomId}::uuid, ${scope.ofTurn})`;
}

export function holdOutcome(row: HoldRow): HoldOutcome {
  if (row.placed) return { placed: true, held: creditUnits(row.held) };
  return { placed: false, refusedBy: row.refused_by ?? "wallet", available: row.available_before, roomAvailable: row.room_available_before, monthlyBudget: row.monthly_budget };
}

/** Holds on its own; prepared where allowed: it runs before a turn's later calls under enforcement. */
export async function holdForCall(db: Queryable, prepared: HotStatements | undefined, scope: HoldScope, amount: CreditUnits, least: CreditUnits): Promise<HoldOutcome> {
  return holdOutcome((await queryOne<HoldRow>(db, holdCallSql(scope, amount, least), prepared))!);
}

/** The typed refusal of a send whose first call cannot be held: `required` is the least that call needs. */
export function refusalOf(outcome: Extract<HoldOutcome, { placed: false }>, required: CreditUnits): InsufficientCreditsError | RoomBudgetExceededError {
  if (outcome.refusedBy === "room") return new RoomBudgetExceededError(creditsText(required), outcome.roomAvailable!, outcome.monthlyBudget!);
  return new InsufficientCreditsError(creditsText(required), outcome.available);
}

/** Releases what the hold keyed `key` (a metered preview's id) still holds; a hold already released is left as it is. */
export async function releaseHold(db: Queryable, key: string, userId: string): Promise<void> {
  await queryOne(db, sql`SELECT credit_release_hold(${key}::uuid, ${userId}::uuid, false)`);
}

/** How long a preview's hold may stay open before the sweep releases it: far beyond its one call's timeout. */
export const STALE_HOLD_AFTER = "10 minutes";

/** Releases holds nobody will release any more (a preview whose process died); how many. */
export async function releaseStaleHolds(db: Queryable): Promise<number> {
  const row = await queryOne<{ released: number }>(db, sql`SELECT credit_release_stale_holds(${STALE_HOLD_AFTER}::interval) AS released`);
  return row?.released ?? 0;
}
