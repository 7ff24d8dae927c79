// Holding credits for a provider call before it starts (SPEC 14), through
// credit_hold_call (sql/credit_hold_call.sql): the turn's first call inside
// the transaction that accepts the turn, each later call (retries and
// summaries included) on its own just before it is made. The debit of the
// call's ledger row settles its cost from the hold and releases the rest
// (sql/credit_debit_ledger_row.sql).
import { Prisma } from "../generated/prisma/client.ts";
import type { CreditPlanName } from "../config/credits.ts";
import { queryOne, sql, type Queryable } from "../db/sql.ts";
import type { HotStatements } from "../db/statements.ts";
import { InsufficientCreditsError, RoomBudgetExceededError } from "../errors.ts";

type Decimal = Prisma.Decimal;

/** Whose credits a turn's calls hold, and how strictly. */
export interface HoldScope {
  userId: string;
  turnId: string;
  /** The turn's room, whose monthly budget (if any) its holds count against. */
  roomId: string | null;
  defaultPlan: CreditPlanName;
  /** enforce: hold only what is available (down to the least amount) or refuse; warn: hold the whole amount regardless. */
  enforce: boolean;
}

export type HoldOutcome =
  | { placed: true; held: Decimal }
  | { placed: false; refusedBy: "wallet" | "room" | "ended"; available: string; roomAvailable: string | null; monthlyBudget: string | null };

interface HoldRow {
  placed: boolean;
  held: string;
  refused_by: "wallet" | "room" | "ended" | null;
  available_before: string;
  room_available_before: string | null;
  monthly_budget: string | null;
}

/**
 * Holds up to `amount` for the call, at least `least` (under enforce); the
 * outcome says how much, or who refused. Prepared where allowed: it runs
 * before every call under enforcement.
 */
export async function holdForCall(db: Queryable, prepared: HotStatements | undefined, scope: HoldScope, amount: Decimal, least: Decimal): Promise<HoldOutcome> {
  const row = (await queryOne<HoldRow>(
    db,
    sql`SELECT placed, held::text, refused_by, available_before::text, room_available_before::text, monthly_budget::text
          FROM credit_hold_call(${scope.userId}::uuid, ${scope.turnId}::uuid, ${amount.toFixed(4)}::numeric, ${least.toFixed(4)}::numeric,
                                ${scope.defaultPlan}, ${scope.enforce}, ${scope.roomId}::uuid)`,
    prepared,
  ))!;
  if (row.placed) return { placed: true, held: new Prisma.Decimal(row.held) };
  return { placed: false, refusedBy: row.refused_by ?? "wallet", available: row.available_before, roomAvailable: row.room_available_before, monthlyBudget: row.monthly_budget };
}

/** The typed refusal of a send whose first call cannot be held: `required` is the least that call needs. */
export function refusalOf(outcome: Extract<HoldOutcome, { placed: false }>, required: Decimal): InsufficientCreditsError | RoomBudgetExceededError {
  if (outcome.refusedBy === "room") return new RoomBudgetExceededError(required.toFixed(4), outcome.roomAvailable!, outcome.monthlyBudget!);
  return new InsufficientCreditsError(required.toFixed(4), outcome.available);
}
