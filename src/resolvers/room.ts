// Room rules: ownership, soft delete with a 7-day restore window, and the
// mode rule (setRoomMode only sets pendingMode; Gate B for orchestrator).
import { z } from "zod";
import type { Context } from "../context.ts";
import { ConflictError, NotFoundError } from "../errors.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import type { RoomMode } from "../generated/prisma/enums.ts";
import { decodeId, parseInput, STORABLE_MESSAGE } from "../validation/input.ts";
import { assertModeAvailable } from "../gates/modeGate.ts";
import { liveOwnedWhere, lockOwned } from "./ownedRecords.ts";
import { viewerId } from "./viewer.ts";
import { isStorableText } from "../db/storableText.ts";

export const ROOM_RESTORE_WINDOW_MS = 7 * 24 * 60 * 60 * 1000;
const NAME_MAX = 120;
const GOAL_MAX = 2_000;

const name = z.string().trim().min(1, "Name is required.").max(NAME_MAX, `Name is at most ${NAME_MAX} characters.`).refine(isStorableText, STORABLE_MESSAGE);
const goal = z.string().max(GOAL_MAX, `Goal is at most ${GOAL_MAX} characters.`).refine(isStorableText, STORABLE_MESSAGE);
const mode = z.enum(["manual", "roundtable", "orchestrator"]);

const createRoomInput = z.object({ name, goal: goal.nullish().transform((value) => value ?? ""), mode: mode.nullish().transform((value) => value ?? "manual") });
const updateRoomInput = z.object({ name: name.nullish(), goal: goal.nullish() });

type Tx = Prisma.TransactionClient;

export const liveRoomWhere: (context: Context, id: string) => Prisma.RoomWhereInput = liveOwnedWhere;

/** Locks the viewer's live room for the rest of the transaction, or NOT_FOUND. */
export const lockOwnedRoom = (tx: Tx, context: Context, rawId: string | number): Promise<string> => lockOwned(tx, context, "Room", rawId);

export function createRoom(input: unknown, context: Context) {
  const data = parseInput(createRoomInput, input);
  assertModeAvailable(data.mode, context.services.readiness);
  return context.services.prisma.room.create({ data: { ownerId: viewerId(context), name: data.name, goal: data.goal, currentMode: data.mode } });
}

export function updateRoom(input: { id: string | number } & Record<string, unknown>, context: Context) {
  const data = parseInput(updateRoomInput, input);
  return context.services.prisma.$transaction(async (tx) => {
    const id = await lockOwnedRoom(tx, context, input.id);
    return tx.room.update({ where: { id }, data: { name: data.name ?? undefined, goal: data.goal ?? undefined } });
  });
}

export function setRoomMode(input: { roomId: string | number; mode: RoomMode }, context: Context) {
  const pendingMode = parseInput(mode, input.mode);
  assertModeAvailable(pendingMode, context.services.readiness);
  return context.services.prisma.$transaction(async (tx) => {
    const id = await lockOwnedRoom(tx, context, input.roomId);
    return tx.room.update({ where: { id }, data: { pendingMode } });
  });
}

export function deleteRoom(input: { id: string | number }, context: Context) {
  return context.services.prisma.$transaction(async (tx) => {
    const id = await lockOwnedRoom(tx, context, input.id);
    return tx.room.update({ where: { id }, data: { deletedAt: new Date() } });
  });
}

export function restoreRoom(input: { id: string | number }, context: Context) {
  const id = decodeId(input.id, "Room");
  return context.services.prisma.$transaction(async (tx) => {
    const room = await tx.room.findFirst({ where: { id, ownerId: viewerId(context) }, select: { deletedAt: true } });
    if (!room) throw new NotFoundError("Room");
    if (!room.deletedAt) throw new ConflictError("The room is not deleted.");
    if (Date.now() - room.deletedAt.getTime() > ROOM_RESTORE_WINDOW_MS) {
      throw new ConflictError("The room was deleted more than 7 days ago and can no longer be restored.");
    }
    const restored = await tx.room.updateMany({ where: { id, deletedAt: room.deletedAt }, data: { deletedAt: null } });
    if (restored.count === 0) throw new ConflictError("The room changed while restoring; try again.");
    return tx.room.findUniqueOrThrow({ where: { id } });
  });
}
