// The Room type and its queries. Mutations: roomMutations.ts, roster
// mutations: roomAgentMutations.ts.
import { builder } from "../builder.ts";
import { liveRoomWhere } from "../resolvers/room.ts";
import { roomAgents } from "../resolvers/roomAgentsLoader.ts";
import { roomSelection, selectRoomPage, type RoomSelection } from "../resolvers/roomSql.ts";
import { countLiveOwned } from "../resolvers/ownedPageSql.ts";
import { viewerId } from "../resolvers/viewer.ts";
import { AgentRef } from "./agent.ts";
import { pageWindow, toConnection } from "./cursorPage.ts";
import { RoomMode } from "./domainEnums.ts";
import { requiresReady } from "./readinessDirective.ts";
import { CONNECTION_SIZES, assertOwnCursors, decodeQueryId, notFoundQueryError } from "./queryHelpers.ts";
import { cachedPerFieldNode, selectedFields } from "./selectedFields.ts";

// Not in select mode: plugin-prisma wraps every field of a select-mode type
// and loads, through Prisma again, any row it did not plan itself; rooms from
// the rooms page (one SQL statement) must resolve as they are.
export const RoomRef = builder.prismaObject("Room", {
  fields: (t) => ({
    id: t.exposeID("id"),
    name: t.exposeString("name"),
    goal: t.exposeString("goal"),
    currentMode: t.expose("currentMode", { type: RoomMode, description: "The mode the last turn used." }),
    pendingMode: t.expose("pendingMode", {
      type: RoomMode,
      nullable: true,
      description: "Set by setRoomMode; becomes currentMode at the next message.",
    }),
    agents: t.field({
      type: [AgentRef],
      description: "The room's agents in position order.",
      resolve: (room, _args, context) => roomAgents(room, context),
    }),
    deletedAt: t.expose("deletedAt", {
      type: "DateTime",
      nullable: true,
      description: "Set while the room is deleted; restoreRoom works for 7 days.",
    }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

/** The columns a `rooms` field reads. */
const pageSelection = cachedPerFieldNode((info): RoomSelection => {
  const roomFields = selectedFields(info, ["edges", "node"]);
  return roomSelection(roomFields, roomFields.has("agents") ? selectedFields(info, ["edges", "node", "agents"]) : null);
});

builder.queryFields((t) => ({
  room: t.prismaField({
    type: "Room",
    nullable: true,
    description: "One of your rooms; NOT_FOUND for a missing, deleted or foreign id.",
    authScopes: { authenticated: true },
    directives: requiresReady,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, context) => {
      const where = liveRoomWhere(context, decodeQueryId(args.id, "Room"));
      return (await context.services.prisma.room.findFirst({ ...query, where })) ?? notFoundQueryError("Room");
    },
  }),
  // The API's hottest read: one SQL statement per page (agents included)
  // instead of a Prisma plan per request; same cursors and paging as
  // prismaConnection({ cursor: "id" }).
  rooms: t.connection(
    {
      type: RoomRef,
      description: "Your live rooms, newest first.",
      authScopes: { authenticated: true },
      directives: requiresReady,
      resolve: async (_root, args, context, info) => {
        const window = pageWindow(args, CONNECTION_SIZES);
        const ownerId = viewerId(context);
        const cursorId = await assertOwnCursors(args, (id) => countLiveOwned(context.services, "rooms", id, ownerId));
        const rooms = await selectRoomPage(context.services, { ownerId, cursorId, ...window, selection: pageSelection(info) });
        return toConnection(rooms, args, window);
      },
    },
    { name: "RoomConnection" },
    { name: "RoomEdge" },
  ),
}));
