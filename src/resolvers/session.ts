// Sessions: scoped to exactly one of a room or an agent (direct chat), both
// owned and live (the DB check sessions_scope_check enforces the "one").
import { z } from "zod";
import type { Context } from "../context.ts";
import { ValidationError } from "../errors.ts";
import { isStorableText } from "../db/storableText.ts";
import { STORABLE_MESSAGE, decodeId, parseInput } from "../validation/input.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import { lockOwned } from "./ownedRecords.ts";
import { viewerId } from "./viewer.ts";

export const SESSION_TITLE_MAX = 200;

/** A session disappears with its (soft-deleted) room or agent. */
export function liveSessionWhere(context: Context, id: string): Prisma.SessionWhereInput {
  return {
    id,
    ownerId: viewerId(context),
    deletedAt: null,
    OR: [{ room: { is: { deletedAt: null } } }, { agent: { is: { deletedAt: null } } }],
  };
}

export function createSession(input: { roomId?: string | number | null; agentId?: string | number | null }, context: Context) {
  const hasRoom = input.roomId !== null && input.roomId !== undefined;
  const hasAgent = input.agentId !== null && input.agentId !== undefined;
  if (hasRoom === hasAgent) {
    const message = "Give exactly one of roomId (a room session) or agentId (a direct chat).";
    throw new ValidationError([{ path: ["roomId"], message }, { path: ["agentId"], message }]);
  }
  return context.services.prisma.$transaction(async (tx) => {
    const scope = hasRoom ? { roomId: await lockOwned(tx, context, "Room", input.roomId!) } : { agentId: await lockOwned(tx, context, "Agent", input.agentId!) };
    return tx.session.create({ data: { ownerId: viewerId(context), ...scope } });
  });
}

const renameSessionInput = z.object({
  title: z.string().trim().min(1, "must not be empty").max(SESSION_TITLE_MAX, `must be at most ${SESSION_TITLE_MAX} characters`).refine(isStorableText, STORABLE_MESSAGE),
});

export function renameSession(input: { id: string | number; title: string }, context: Context) {
  const id = decodeId(input.id, "Session");
  const { title } = parseInput(renameSessionInput, { title: input.title });
  return context.services.prisma.$transaction(async (tx) => {
    await lockOwned(tx, context, "Session", id);
    return tx.session.update({ where: { id }, data: { title } });
  });
}

/** A deleted session leaves every list; its turns and ledger rows stay (usage reports keep them). */
export function deleteSession(input: { id: string | number }, context: Context) {
  return context.services.prisma.$transaction(async (tx) => {
    const id = await lockOwned(tx, context, "Session", input.id);
    return tx.session.update({ where: { id }, data: { deletedAt: new Date() } });
  });
}
