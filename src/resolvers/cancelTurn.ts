// cancelTurn (SPEC 16): the viewer stops one of their running turns, on any
// instance. A turn that already ended is returned unchanged (a typed no-op).
import type { Context } from "../context.ts";
import { NotFoundError } from "../errors.ts";
import { viewerId } from "./viewer.ts";
import { isUuid } from "./turnQueries.ts";

export async function cancelTurn(turnId: string, context: Context) {
  if (!isUuid(turnId)) throw new NotFoundError("Turn");
  const outcome = await context.services.turns.cancel(viewerId(context), turnId);
  if (!outcome) throw new NotFoundError("Turn");
  return context.services.prisma.turn.findUniqueOrThrow({ where: { id: turnId } });
}
