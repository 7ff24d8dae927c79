// Session.room, Session.agent and Session.turnCount for every session object
// (a sessions page, session(id), a mutation's result): per-request loaders,
// one statement per field for all the sessions a request asks about. A
// sessions page reads them with its rows instead. As plugin-prisma relations
// they were loaded through Prisma, which planned and compiled the sessions
// page's query on every request.
import type { Context } from "../context.ts";
import type { Agent, Room } from "../generated/prisma/client.ts";
import { queryRows } from "../db/sql.ts";
import { viewerAgent } from "./agentsLoader.ts";
import { requestLoader } from "./requestLoader.ts";
import { selectOwnedRooms } from "./roomSql.ts";
import type { SessionOfPage } from "./sessionSql.ts";

/** A session's room is its owner's: the viewer's rooms by id, deleted ones included (a deleted session's result may name one). */
const rooms = requestLoader<string, Room | null>(async (ids, context) => {
  const ownerId = context.viewer?.id;
  const found = ownerId ? await selectOwnedRooms(context.services, ownerId, ids) : [];
  const byId = new Map(found.map((room) => [room.id, room]));
  return ids.map((id) => byId.get(id) ?? null);
});

// uq_turns_session_seq leads with session_id: the count reads that index.
const TURN_COUNTS = `SELECT t.session_id::text AS session_id, count(*)::int AS count FROM turns t
   WHERE t.session_id = ANY($1::uuid[]) GROUP BY t.session_id`;

const turnCounts = requestLoader<string, number>(async (sessionIds, context) => {
  const { pool, statements } = context.services;
  const rows = await queryRows<{ session_id: string; count: number }>(pool, { text: TURN_COUNTS, values: [sessionIds] }, statements);
  const bySession = new Map(rows.map((row) => [row.session_id, row.count]));
  return sessionIds.map((id) => bySession.get(id) ?? 0);
});

/** The room of a room session; null for a direct chat. A sessions page reads it with the session. */
export function sessionRoom(session: Pick<SessionOfPage, "roomId" | "preloadedRoom">, context: Context): Room | Promise<Room | null> | null {
  if (session.preloadedRoom !== undefined) return session.preloadedRoom as Room | null;
  return session.roomId ? rooms(context).load(session.roomId) : null;
}

/** The agent of a direct chat; null for a room session. A sessions page reads it with the session. */
export function sessionAgent(session: Pick<SessionOfPage, "agentId" | "preloadedAgent">, context: Context): Agent | Promise<Agent | null> | null {
  if (session.preloadedAgent !== undefined) return session.preloadedAgent as Agent | null;
  return session.agentId ? viewerAgent(session.agentId, context) : null;
}

/** Messages sent in the session: its turns, whatever their status (read with the session by a sessions page). */
export function sessionTurnCount(session: Pick<SessionOfPage, "id" | "turnCount">, context: Context): number | Promise<number> {
  return session.turnCount ?? turnCounts(context).load(session.id);
}
