// Reads of turns, always scoped to the viewer: another user's turn looks missing.
import type { Context } from "../context.ts";

interface PrismaQuery {
  include?: unknown;
  select?: unknown;
}

export async function findViewerTurn<Q extends PrismaQuery>(query: Q, id: string, context: Context) {
  if (!context.viewer || !isUuid(id)) return null;
  // A turn whose owner is gone must not read as RUNNING: the read ends it first (a no-op unless its lease lapsed).
  await context.services.turns.endIfLapsed(id);
  return context.services.prisma.turn.findFirst({
    ...(query as object),
    where: { id, userId: context.viewer.id, session: { deletedAt: null } },
  });
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}
