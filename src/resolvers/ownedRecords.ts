// The viewer's own live agents, rooms and sessions, found one way: an id
// that is malformed, missing, someone else's or soft-deleted is NOT_FOUND
// (clients see one outcome for every id they cannot use).
import type { Context } from "../context.ts";
import { NotFoundError } from "../errors.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import { sql, type Sql } from "../db/sql.ts";
import { decodeId } from "../validation/input.ts";
import { viewerId } from "./viewer.ts";

export type OwnedEntity = "Agent" | "Room" | "Session";

// Hand-written for the row lock (FOR UPDATE), which Prisma cannot take.
const LOCK_LIVE: Record<OwnedEntity, (id: string, ownerId: string) => Sql> = {
  Agent: (id, ownerId) => sql`SELECT id FROM agents WHERE id = ${id}::uuid AND owner_id = ${ownerId}::uuid AND deleted_at IS NULL FOR UPDATE`,
  Room: (id, ownerId) => sql`SELECT id FROM rooms WHERE id = ${id}::uuid AND owner_id = ${ownerId}::uuid AND deleted_at IS NULL FOR UPDATE`,
  // A session disappears with its (soft-deleted) room or agent; only the session's row is locked.
  Session: (id, ownerId) => sql`
    SELECT s.id FROM sessions s
      LEFT JOIN rooms r ON r.id = s.room_id LEFT JOIN agents a ON a.id = s.agent_id
     WHERE s.id = ${id}::uuid AND s.owner_id = ${ownerId}::uuid AND s.deleted_at IS NULL
       AND (r.deleted_at IS NULL AND s.room_id IS NOT NULL OR a.deleted_at IS NULL AND s.agent_id IS NOT NULL)
     FOR UPDATE OF s`,
};

/** Where-clause of the viewer's live agent or room with this (decoded) id. */
export function liveOwnedWhere(context: Context, id: string): { id: string; ownerId: string; deletedAt: null } {
  return { id, ownerId: viewerId(context), deletedAt: null };
}

/** Locks the viewer's live record for the rest of the transaction and returns its id, or NOT_FOUND. */
export async function lockOwned(tx: Prisma.TransactionClient, context: Context, entity: OwnedEntity, rawId: string | number): Promise<string> {
  const id = decodeId(rawId, entity);
  const rows = await tx.$queryRaw<{ id: string }[]>(LOCK_LIVE[entity](id, viewerId(context)));
  if (rows.length === 0) throw new NotFoundError(entity);
  return id;
}
