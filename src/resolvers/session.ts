// Sessions: scoped to exactly one of a room or an agent (direct chat), both
// owned and live (the DB check sessions_scope_check enforces the "one").
import { z } from "zod";
import type { Context } from "../context.ts";
import { NotFoundError, ValidationError } from "../errors.ts";
import { isStorableText } from "../db/storableText.ts";
import { STORABLE_MESSAGE, decodeId, parseInput } from "../validation/input.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import { lockOwnedAgent } from "./agent.ts";
import { lockOwnedRoom } from "./room.ts";
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
    const scope = hasRoom ? { roomId: await lockOwnedRoom(tx, context, input.roomId!) } : { agentId: await lockOwnedAgent(tx, context, input.agentId!) };
    return tx.session.create({ data: { ownerId: viewerId(context), ...scope } });
  });
}

const renameSessionInput = z.object({
  title: z.string().trim().min(1, "must not be empty").max(SESSION_TITLE_MAX, `must be at most ${SESSION_TITLE_MAX} characters`).refine(isStorableText, STORABLE_MESSAGE),
});

/** One of the viewer's live sessions, locked for the write; NOT_FOUND otherwise. */
async function lockOwnedSession(tx: Prisma.TransactionClient, context: Context, id: string): Promise<void> {
  const rows = await tx.$queryRaw<{ id: string }[]>`
    SELECT s.id FROM sessions s
      LEFT JOIN rooms r ON r.id = s.room_id LEFT JOIN agents a ON a.id = s.agent_id
     WHERE s.id = ${id}::uuid AND s.owner_id = ${viewerId(context)}::uuid AND s.deleted_at IS NULL
       AND (r.deleted_at IS NULL AND s.room_id IS NOT NULL OR a.deleted_at IS NULL AND s.agent_id IS NOT NULL)
     FOR UPDATE OF s`;
  if (rows.length === 0) throw new NotFoundError("Session");
}

export function renameSession(input: { id: string | number; title: string }, context: Context) {
  const id = decodeId(input.id, "Session");
  const { title } = parseInput(renameSessionInput, { title: input.title });
  return context.services.prisma.$transaction(async (tx) => {
    await lockOwnedSession(tx, context, id);
    return tx.session.update({ where: { id }, data: { title } });
  });
}

/** A deleted session leaves every list; its turns and ledger rows stay (usage reports keep them). */
export function deleteSession(input: { id: string | number }, context: Context) {
  const id = decodeId(input.id, "Session");
  return context.services.prisma.$transaction(async (tx) => {
    await lockOwnedSession(tx, context, id);
    return tx.session.update({ where: { id }, data: { deletedAt: new Date() } });
  });
}

/** The viewer's live sessions, optionally of one room or one agent. */
export function liveSessionsWhere(context: Context, scope: { roomId?: string; agentId?: string } = {}): Prisma.SessionWhereInput {
  return {
    ownerId: viewerId(context),
    deletedAt: null,
    ...scope,
    OR: [{ room: { is: { deletedAt: null } } }, { agent: { is: { deletedAt: null } } }],
  };
}

/** Latest activity first; the id breaks ties, so pages never overlap. */
export const SESSION_ORDER: Prisma.SessionOrderByWithRelationInput[] = [{ lastActivityAt: "desc" }, { id: "desc" }];
