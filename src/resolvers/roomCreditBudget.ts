// A room's monthly credit budget (SPEC 13): its owner sets or clears the cap;
// each call of a turn in the room holds against it (credit_hold_call). The room's
// month is read through a per-request loader, so a page of rooms costs one
// statement.
import { z } from "zod";
import type { Context } from "../context.ts";
import { creditLimit, periodEndOf } from "../credits/creditAmount.ts";
import { roomMonth } from "../credits/balances.ts";
import { parseInput } from "../validation/input.ts";
import { queryRows, sql } from "../db/sql.ts";
import { requestLoader } from "./requestLoader.ts";
import { lockOwnedRoom } from "./room.ts";

export interface RoomCreditBudget {
  /** null: no cap. */
  monthlyBudget: string | null;
  spent: string;
  held: string;
  /** null without a cap; may be below 0 when spending outran a budget lowered mid-month. */
  available: string | null;
  periodStart: Date;
  periodEnd: Date;
}

interface RoomMonthRow {
  room_id: string;
  monthly_budget: string | null;
  spent: string;
  held: string;
  /** credit_room_available: null without a cap. */
  available: string | null;
  period_start: string;
}

const loaders = requestLoader<string, RoomCreditBudget>(async (roomIds, context) => {
  const rows = await queryRows<RoomMonthRow>(
    context.services.pool,
    sql`SELECT r.id AS room_id, r.monthly_credit_budget::text AS monthly_budget, coalesce(u.spent, 0)::numeric(20,4)::text AS spent, coalesce(u.held, 0)::numeric(20,4)::text AS held,
            credit_room_available(r.id)::text AS available, to_char(date_trunc('month', now() AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS period_start
       FROM rooms r, ${roomMonth(sql`r.id`)} u
      WHERE r.id = ANY(${roomIds}::uuid[])`,
  );
  const byRoom = new Map(rows.map((row) => [row.room_id, row]));
  return roomIds.map((id) => {
    const row = byRoom.get(id);
    return row ? budgetOf(row) : new Error("Room not found");
  });
});

function budgetOf(row: RoomMonthRow): RoomCreditBudget {
  return {
    monthlyBudget: row.monthly_budget,
    spent: row.spent,
    held: row.held,
    available: row.available,
    periodStart: new Date(`${row.period_start}T00:00:00Z`),
    periodEnd: periodEndOf(row.period_start),
  };
}

export function roomCreditBudget(roomId: string, context: Context): Promise<RoomCreditBudget> {
  return loaders(context).load(roomId);
}

const budgetInput = z.object({ monthlyBudget: creditLimit.nullable() });

/** The room's owner sets (or, with null, clears) its monthly cap; it applies to sends accepted from now on. */
export async function setRoomCreditBudget(input: { roomId: string | number; monthlyBudget: string | null }, context: Context) {
  const { monthlyBudget } = parseInput(budgetInput, { monthlyBudget: input.monthlyBudget });
  return context.services.prisma.$transaction(async (tx) => {
    const id = await lockOwnedRoom(tx, context, input.roomId);
    return tx.room.update({ where: { id }, data: { monthlyCreditBudget: monthlyBudget } });
  });
}
