// Room.agents for every room object: the rooms page preloads them; a room
// loaded any other way (room(id), a mutation's result, Session.room) gets
// them through a per-request loader that reads all those rooms' agents in
// one statement, so a list of rooms never costs a query per room.
import DataLoader from "dataloader";
import { createContextCache } from "@pothos/core";
import type { Context } from "../context.ts";
import type { Agent } from "../generated/prisma/client.ts";
import { selectRoomAgents, type RoomWithAgents } from "./roomSql.ts";

// No caching across loads: two mutations in one request may change the same roster.
const loaders = createContextCache(
  (context: Context) => new DataLoader<string, Agent[]>(async (roomIds) => {
    const byRoom = await selectRoomAgents(context.services, roomIds);
    return roomIds.map((id) => byRoom.get(id) ?? []);
  }, { cache: false }),
);

export function roomAgents(room: RoomWithAgents, context: Context): Agent[] | Promise<Agent[]> {
  return room.preloadedAgents ?? loaders(context).load(room.id);
}
