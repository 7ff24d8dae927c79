// Room.agents for every room object: the rooms page preloads them; a room
// loaded any other way (room(id), a mutation's result, Session.room) gets
// them through a per-request loader that reads all those rooms' agents in
// one statement, so a list of rooms never costs a query per room.
import type { Context } from "../context.ts";
import type { Agent } from "../generated/prisma/client.ts";
import { requestLoader } from "./requestLoader.ts";
import { selectRoomAgents, type RoomWithAgents } from "./roomSql.ts";

const loaders = requestLoader<string, Agent[]>(async (roomIds, context) => {
  const byRoom = await selectRoomAgents(context.services, roomIds);
  return roomIds.map((id) => byRoom.get(id) ?? []);
});

export function roomAgents(room: RoomWithAgents, context: Context): Agent[] | Promise<Agent[]> {
  return room.preloadedAgents ?? loaders(context).load(room.id);
}
