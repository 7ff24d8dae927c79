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
import { availableCredits, roomBudgetLeft } from "../credits/holdSql.ts";
import type { CreditEnforcement } from "../config/credits.ts";
import { readEnforcement } from "../credits/enforcement.ts";
import { beginWithUserLock } from "./acceptSql.ts";
import { RATE_WINDOWS_SQL, assertWithinRateLimit, type WindowUsage } from "./rateLimit.ts";

const INSERT_PREVIEW = "INSERT INTO routing_previews (id, user_id, session_id) VALUES ($1, $2, $3)";

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
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query(beginWithUserLock(userId));
    const { rows } = await client.query<WindowUsage>(RATE_WINDOWS_SQL, [userId]);
    assertWithinRateLimit(rows[0]!, limits);
    if ((await readEnforcement(client, credits.configured)) === "enforce") {
      const required = credits.ceiling.toFixed(4);
      const available = await availableCredits(client, userId, credits.defaultPlan);
      if (credits.ceiling.gt(available)) throw new InsufficientCreditsError(required, available);
      const room = credits.roomId ? await roomBudgetLeft(client, credits.roomId) : null;
      if (room && credits.ceiling.gt(room.available)) throw new RoomBudgetExceededError(required, room.available, room.monthlyBudget);
    }
    await client.query(INSERT_PREVIEW, [randomUUID(), userId, sessionId]);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => (broken = true));
    throw error;
  } finally {
    client.release(broken);
  }
}
