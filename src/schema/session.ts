// The Session type, its query and createSession. Turns are added to Session
// by the turn schema.
import { builder } from "../builder.ts";
import { createSession, liveSessionWhere } from "../resolvers/session.ts";
import { AgentRef } from "./agent.ts";
import { mutationResult } from "./mutationResult.ts";
import { decodeQueryId, notFoundQueryError } from "./queryHelpers.ts";
import { requiresReady } from "./readinessDirective.ts";
import { RoomRef } from "./room.ts";

export const SessionRef = builder.prismaObject("Session", {
  fields: (t) => ({
    id: t.exposeID("id"),
    title: t.exposeString("title", { nullable: true }),
    room: t.relation("room", { type: RoomRef, nullable: true, description: "Set for a room session." }),
    agent: t.relation("agent", { type: AgentRef, nullable: true, description: "Set for a direct chat with one agent." }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

const CreateSessionInput = builder.inputType("CreateSessionInput", {
  description: "Exactly one of roomId (a room session) or agentId (a direct chat).",
  fields: (t) => ({
    roomId: t.id(),
    agentId: t.id(),
  }),
});

builder.queryField("session", (t) =>
  t.prismaField({
    type: "Session",
    nullable: true,
    description: "One of your sessions; NOT_FOUND for a missing or foreign id, or when its room or agent is deleted.",
    authScopes: { authenticated: true },
    directives: requiresReady,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, context) => {
      const where = liveSessionWhere(context, decodeQueryId(args.id, "Session"));
      return (await context.prisma.session.findFirst({ ...query, where })) ?? notFoundQueryError("Session");
    },
  }),
);

builder.mutationField("createSession", (t) =>
  t.field({
    type: SessionRef,
    authScopes: { authenticated: true },
    directives: requiresReady,
    errors: mutationResult("CreateSession", "session"),
    args: { input: t.arg({ type: CreateSessionInput, required: true }) },
    resolve: (_root, { input }, context) => createSession(input, context),
  }),
);
