// Sessions: scoped to exactly one of a room or an agent (direct chat), both
// owned and live (the DB check sessions_scope_check enforces the "one").
import type { Context } from "../context.ts";
import { ValidationError } from "../errors.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import { lockOwnedAgent } from "./agent.ts";
import { lockOwnedRoom } from "./room.ts";
import { viewerId } from "./viewer.ts";

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
  return context.prisma.$transaction(async (tx) => {
    const scope = hasRoom ? { roomId: await lockOwnedRoom(tx, context, input.roomId!) } : { agentId: await lockOwnedAgent(tx, context, input.agentId!) };
    return tx.session.create({ data: { ownerId: viewerId(context), ...scope } });
  });
}
