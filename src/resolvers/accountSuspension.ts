// Owners suspend and reactivate accounts (SRS FR-ADMIN-003). A suspended
// account gets FORBIDDEN on every field that needs a signed-in user; sends and
// previews check it under the per-user lock, so none starts after the
// suspension commits, on any instance. Turns already running finish.
import { z } from "zod";
import type { Context } from "../context.ts";
import { NotFoundError } from "../errors.ts";
import { decodeId, parseInput, STORABLE_MESSAGE } from "../validation/input.ts";
import { viewerId } from "./viewer.ts";
import { isStorableText } from "../db/storableText.ts";
import { sql } from "../db/sql.ts";

export interface AccountState {
  userId: string;
  suspendedAt: Date | null;
}

const suspensionInput = z.object({
  userId: z.string(),
  suspended: z.boolean(),
  reason: z.string().trim().max(500, "must be at most 500 characters").refine(isStorableText, STORABLE_MESSAGE).nullish(),
});

export async function setAccountSuspended(input: { userId: string | number; suspended: boolean; reason?: string | null }, context: Context): Promise<AccountState> {
  const parsed = parseInput(suspensionInput, { ...input, userId: String(input.userId) });
  const userId = decodeId(parsed.userId, "User");
  const actorId = viewerId(context);
  const state = await context.services.prisma.$transaction(async (tx) => {
    // Hand-written: Prisma reads no row FOR UPDATE, and the before value must be the one this write replaces.
    const [before] = await tx.$queryRaw<{ suspended_at: Date | null }[]>(sql`SELECT suspended_at FROM users WHERE id = ${userId}::uuid FOR UPDATE`);
    if (!before) throw new NotFoundError("User");
    // Suspending a suspended account keeps its first suspension time.
    const suspendedAt = parsed.suspended ? (before.suspended_at ?? new Date()) : null;
    await tx.user.update({ where: { id: userId }, data: { suspendedAt } });
    await tx.adminAuditLog.create({
      data: {
        actorId,
        actor: `user:${actorId}`,
        action: parsed.suspended ? "account.suspend" : "account.reactivate",
        target: `user:${userId}`,
        before: { suspendedAt: before.suspended_at?.toISOString() ?? null },
        after: { suspendedAt: suspendedAt?.toISOString() ?? null, reason: parsed.reason ?? null },
      },
    });
    return { userId, suspendedAt };
  });
  context.services.accounts.forget(userId);
  return state;
}
