// A room's orchestrator turn limits (SPEC 16): its owner changes any of them;
// a turn reads them when its message is accepted, so a running turn keeps
// the limits it started with.
import type { Context } from "../context.ts";
import type { Room } from "../generated/prisma/client.ts";
import { parseInput } from "../validation/input.ts";
import { turnLimitsChangeSchema, type TurnLimits } from "../turns/turnLimits.ts";
import { lockOwnedRoom } from "./room.ts";

/** The limits of a room row (a page of rooms reads only their columns when turnLimits is selected). */
export function turnLimitsOf(room: Pick<Room, "maxRounds" | "maxInvocations" | "maxPerAgent" | "turnTimeLimitSeconds">): TurnLimits {
  return { maxRounds: room.maxRounds, maxInvocations: room.maxInvocations, maxPerAgent: room.maxPerAgent, timeLimitSeconds: room.turnTimeLimitSeconds };
}

export function setRoomTurnLimits(input: { roomId: string | number } & Record<string, unknown>, context: Context) {
  const { roomId, ...limits } = input;
  const change = parseInput(turnLimitsChangeSchema, Object.fromEntries(Object.entries(limits).filter(([, value]) => value !== null && value !== undefined)));
  return context.services.prisma.$transaction(async (tx) => {
    const id = await lockOwnedRoom(tx, context, roomId);
    return tx.room.update({
      where: { id },
      data: { maxRounds: change.maxRounds, maxInvocations: change.maxInvocations, maxPerAgent: change.maxPerAgent, turnTimeLimitSeconds: change.timeLimitSeconds },
    });
  });
}
