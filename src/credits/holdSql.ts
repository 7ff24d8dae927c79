// Placing a turn's hold, inside the transaction that accepts it (SPEC 13).
// credit_hold_turn_in_room (credit controls migration) opens the wallet in
// its current period, locks it and the room's month, and places the hold
// unless the wallet or the room's budget refuses it.
import type pg from "pg";
import type { Prisma } from "../generated/prisma/client.ts";
import type { HotStatements } from "../db/statements.ts";
import { InsufficientCreditsError, RoomBudgetExceededError } from "../errors.ts";
import type { CreditEnforcement, CreditPlanName } from "../config/credits.ts";

export interface HoldRequest {
  userId: string;
  turnId: string;
  /** The turn's room, whose monthly budget (if any) the hold counts against. */
  roomId: string | null;
  credits: Prisma.Decimal;
  defaultPlan: CreditPlanName;
  enforcement: Exclude<CreditEnforcement, "off">;
}

interface HoldResult {
  placed: boolean;
  refused_by: "wallet" | "room" | null;
  available_before: string;
  room_available_before: string | null;
  monthly_budget: string | null;
}

const PLACE_HOLD_SQL = `SELECT placed, refused_by, available_before::text, room_available_before::text,
         CASE WHEN refused_by = 'room' THEN (SELECT monthly_credit_budget::text FROM rooms WHERE id = $6::uuid) END AS monthly_budget
    FROM credit_hold_turn_in_room($1::uuid, $2::uuid, $3::numeric, $4, $5, $6::uuid)`;

/**
 * Places the hold; under `enforce`, a hold beyond what the wallet has
 * available throws InsufficientCreditsError, one beyond what is left of the
 * room's budget RoomBudgetExceededError, and nothing is placed.
 */
export async function placeTurnHold(client: pg.ClientBase, statements: HotStatements, request: HoldRequest): Promise<void> {
  const required = request.credits.toFixed(4);
  // Named where allowed (it runs on every send under enforcement): planned once per connection.
  const { rows } = await client.query<HoldResult>(
    statements.config(PLACE_HOLD_SQL, [request.userId, request.turnId, required, request.defaultPlan, request.enforcement === "enforce", request.roomId]),
  );
  const result = rows[0]!;
  if (result.placed) return;
  if (result.refused_by === "room") throw new RoomBudgetExceededError(required, result.room_available_before!, result.monthly_budget!);
  throw new InsufficientCreditsError(required, result.available_before);
}

/** What the user may hold now (allowance + granted − held), the wallet opened in its current period and locked for the caller's transaction. */
export async function availableCredits(client: Pick<pg.ClientBase, "query">, userId: string, defaultPlan: string): Promise<string> {
  const { rows } = await client.query<{ available: string }>("SELECT (allowance + granted - held)::text AS available FROM credit_wallet_current($1::uuid, $2)", [userId, defaultPlan]);
  return rows[0]!.available;
}

/** What is left of the room's budget this month (budget − spent − held), or null when it has none. */
export async function roomBudgetLeft(client: Pick<pg.ClientBase, "query">, roomId: string): Promise<{ available: string; monthlyBudget: string } | null> {
  const { rows } = await client.query<{ available: string; monthly_budget: string }>(
    `SELECT (r.monthly_credit_budget - coalesce(u.spent, 0) - coalesce(u.held, 0))::text AS available, r.monthly_credit_budget::text AS monthly_budget
       FROM rooms r, ${roomMonthSql("r.id")} u
      WHERE r.id = $1::uuid AND r.monthly_credit_budget IS NOT NULL`,
    [roomId],
  );
  return rows[0] ? { available: rows[0].available, monthlyBudget: rows[0].monthly_budget } : null;
}

/** A room's credits this month (UTC): spent by its ledger rows, and held by its running turns (of any month). */
export function roomMonthSql(roomIdExpression: string): string {
  return `LATERAL (SELECT sum(spent) FILTER (WHERE period_start = date_trunc('month', now() AT TIME ZONE 'UTC')::date) AS spent, sum(held) AS held
                      FROM room_credit_usage WHERE room_id = ${roomIdExpression})`;
}
