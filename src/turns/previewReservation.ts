// A metered routing preview is reserved before the manager is called: under
// the same per-user lock as a send, the rate-limit windows (turns and
// previews together) are checked and the preview recorded, so concurrent
// previews on any instance cannot exceed the limit together. Under credit
// enforcement the preview also needs its call's ceiling available in the
// wallet and in the room's budget (it is not held: a send accepted while the
// call is in flight can leave either short by at most that one call).
import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { Prisma } from "../generated/prisma/client.ts";
import { InsufficientCreditsError, RoomBudgetExceededError } from "../errors.ts";
import { availableCredits, roomBudgetLeft } from "../credits/balances.ts";
import type { CreditEnforcement } from "../config/credits.ts";
import { readEnforcement } from "../credits/enforcement.ts";
import { inTransaction, queryOne, queryRows, sql } from "../db/sql.ts";
import { userLock } from "./acceptSql.ts";
import { rateWindowsSql, assertWithinRateLimit, type WindowUsage } from "./rateLimit.ts";

/** The most the preview's call can cost, the plan a new wallet opens on, the instance's CREDIT_ENFORCEMENT and the session's room. */
export interface PreviewCredits {
  ceiling: Prisma.Decimal;
  defaultPlan: string;
  configured: CreditEnforcement;
  roomId: string | null;
}

export async function reservePreview(
  pool: pg.Pool,
  limits: { turnsPerMinute: number; turnsPerHour: number },
  userId: string,
  sessionId: string,
  credits: PreviewCredits,
): Promise<void> {
  await inTransaction(pool, async (client) => {
    await queryRows(client, userLock(userId));
    assertWithinRateLimit((await queryOne<WindowUsage>(client, rateWindowsSql(userId)))!, limits);
    if ((await readEnforcement(client, credits.configured)) === "enforce") {
      const required = credits.ceiling.toFixed(4);
      const available = await availableCredits(client, userId, credits.defaultPlan);
      if (credits.ceiling.gt(available)) throw new InsufficientCreditsError(required, available);
      const room = credits.roomId ? await roomBudgetLeft(client, credits.roomId) : null;
      if (room && credits.ceiling.gt(room.available)) throw new RoomBudgetExceededError(required, room.available, room.monthlyBudget);
    }
    await queryRows(client, sql`INSERT INTO routing_previews (id, user_id, session_id) VALUES (${randomUUID()}::uuid, ${userId}::uuid, ${sessionId}::uuid)`);
  });
}
