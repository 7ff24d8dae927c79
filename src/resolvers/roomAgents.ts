// A room's roster: agents in position order (0, 1, 2, ...). Every change
// locks the room row first so concurrent edits of one roster serialize.
import { z } from "zod";
import type { Context } from "../context.ts";
import { ConflictError, NotFoundError, ValidationError } from "../errors.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import { lockOwnedAgent } from "./agent.ts";
import { decodeId, parseInput } from "../validation/input.ts";
import { conflictOnUnique } from "./input.ts";
import { lockOwnedRoom } from "./room.ts";

type Tx = Prisma.TransactionClient;
const ALREADY_ASSIGNED = "The agent is already in this room.";
const position = z.number().int("Position is a whole number.").min(0, "Position starts at 0.").nullish();

async function roster(tx: Tx, roomId: string) {
  return tx.roomAgent.findMany({ where: { roomId }, orderBy: [{ position: "asc" }, { createdAt: "asc" }], select: { id: true, agentId: true } });
}

async function writePositions(tx: Tx, ids: string[]): Promise<void> {
  for (const [index, id] of ids.entries()) await tx.roomAgent.update({ where: { id }, data: { position: index } });
}

export function assignAgent(input: { roomId: string | number; agentId: string | number; position?: number | null }, context: Context) {
  const wanted = parseInput(z.object({ position }), { position: input.position }).position;
  return conflictOnUnique(
    () =>
      context.services.prisma.$transaction(async (tx) => {
        const roomId = await lockOwnedRoom(tx, context, input.roomId);
        const agentId = await lockOwnedAgent(tx, context, input.agentId);
        const current = await roster(tx, roomId);
        if (current.some((entry) => entry.agentId === agentId)) throw new ConflictError(ALREADY_ASSIGNED);
        const at = wanted ?? current.length;
        if (at > current.length) throw new ValidationError([{ path: ["position"], message: `Position is at most ${current.length}.` }]);
        const created = await tx.roomAgent.create({ data: { roomId, agentId, position: at } });
        const ordered = current.map((entry) => entry.id);
        ordered.splice(at, 0, created.id);
        await writePositions(tx, ordered);
        return tx.room.findUniqueOrThrow({ where: { id: roomId } });
      }),
    ALREADY_ASSIGNED,
  );
}

export function unassignAgent(input: { roomId: string | number; agentId: string | number }, context: Context) {
  return context.services.prisma.$transaction(async (tx) => {
    const roomId = await lockOwnedRoom(tx, context, input.roomId);
    const agentId = decodeId(input.agentId, "Agent");
    const removed = await tx.roomAgent.deleteMany({ where: { roomId, agentId } });
    if (removed.count === 0) throw new NotFoundError("Agent");
    await writePositions(tx, (await roster(tx, roomId)).map((entry) => entry.id));
    return tx.room.findUniqueOrThrow({ where: { id: roomId } });
  });
}

export function reorderRoomAgents(input: { roomId: string | number; agentIds: (string | number)[] }, context: Context) {
  return context.services.prisma.$transaction(async (tx) => {
    const roomId = await lockOwnedRoom(tx, context, input.roomId);
    const current = await roster(tx, roomId);
    const requested = input.agentIds.map((id) => String(id).toLowerCase());
    const byAgent = new Map(current.map((entry) => [entry.agentId, entry.id]));
    const exact = requested.length === current.length && new Set(requested).size === requested.length && requested.every((id) => byAgent.has(id));
    if (!exact) throw new ValidationError([{ path: ["agentIds"], message: "List every agent of the room exactly once." }]);
    await writePositions(tx, requested.map((id) => byAgent.get(id)!));
    return tx.room.findUniqueOrThrow({ where: { id: roomId } });
  });
}
