// Reads of what a wallet or a room's budget has available, each through the
// one SQL function that defines it (sql/credit_available.sql,
// sql/credit_room_available.sql).
import { queryOne, sql, type Queryable, type Sql } from "../db/sql.ts";

/** What the user may hold now, the wallet opened in its current period and locked for the caller's transaction. */
export async function availableCredits(db: Queryable, userId: string, defaultPlan: string): Promise<string> {
  const row = await queryOne<{ available: string }>(db, sql`SELECT credit_available(w)::text AS available FROM credit_wallet_current(${userId}::uuid, ${defaultPlan}) w`);
  return row!.available;
}

/** What is left of the room's budget this month, or null when it has none. */
export async function roomBudgetLeft(db: Queryable, roomId: string): Promise<{ available: string; monthlyBudget: string } | null> {
  const row = await queryOne<{ available: string; monthly_budget: string }>(
    db,
    sql`SELECT credit_room_available(r.id)::text AS available, r.monthly_credit_budget::text AS monthly_budget
          FROM rooms r WHERE r.id = ${roomId}::uuid AND r.monthly_credit_budget IS NOT NULL`,
  );
  return row ? { available: row.available, monthlyBudget: row.monthly_budget } : null;
}

/** A room's credits this month (UTC), as a lateral subquery of room `roomId`: spent by its ledger rows, and held by its running calls (of any month). */
export function roomMonth(roomId: Sql): Sql {
  return sql`LATERAL (SELECT sum(spent) FILTER (WHERE period_start = date_trunc('month', now() AT TIME ZONE 'UTC')::date) AS spent, sum(held) AS held
                       FROM room_credit_usage WHERE room_id = ${roomId})`;
}
