// The Room type and its queries. Mutations: roomMutations.ts, roster
// mutations: roomAgentMutations.ts.
import { builder } from "../builder.ts";
import { liveRoomWhere } from "../resolvers/room.ts";
import { viewerId } from "../resolvers/viewer.ts";
import { AgentRef } from "./agent.ts";
import { RoomMode } from "./domainEnums.ts";
import { requiresReady } from "./readinessDirective.ts";
import { CONNECTION_SIZES, assertOwnCursors, decodeQueryId, notFoundQueryError } from "./queryHelpers.ts";

export const RoomRef = builder.prismaObject("Room", {
  // Select mode: queries read only the columns the operation asks for.
  select: { id: true },
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
      // Through the join table, planned into the parent query (no N+1).
      select: (_args, _context, nestedSelection) => ({
        roomAgents: {
          where: { agent: { deletedAt: null } },
          orderBy: [{ position: "asc" }, { createdAt: "asc" }],
          select: { agent: nestedSelection(true) },
        },
      }),
      resolve: (room) => room.roomAgents.map((entry) => entry.agent),
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
      return (await context.prisma.room.findFirst({ ...query, where })) ?? notFoundQueryError("Room");
    },
  }),
  rooms: t.prismaConnection(
    {
      type: "Room",
      cursor: "id",
      ...CONNECTION_SIZES,
      description: "Your live rooms, newest first.",
      authScopes: { authenticated: true },
      directives: requiresReady,
      resolve: async (query, _root, args, context) => {
        await assertOwnCursors(args, (id) => context.prisma.room.count({ where: liveRoomWhere(context, id) }));
        return context.prisma.room.findMany({ ...query, where: { ownerId: viewerId(context), deletedAt: null }, orderBy: [{ createdAt: "desc" }, { id: "desc" }] });
      },
    },
    { name: "RoomConnection" },
    { name: "RoomEdge" },
  ),
}));
