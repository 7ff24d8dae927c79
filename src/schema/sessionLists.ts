// Sessions lists for a chat UI: the viewer's, a room's and an agent's direct
// chats, latest activity first. Cursors must name the viewer's live sessions.
import { builder } from "../builder.ts";
import type { Context } from "../context.ts";
import { liveSessionWhere, liveSessionsWhere, SESSION_ORDER } from "../resolvers/session.ts";
import { ViewerRef } from "./viewer.ts";
import { RoomRef } from "./room.ts";
import { AgentRef } from "./agent.ts";
import { requiresReady } from "./readinessDirective.ts";
import { CONNECTION_SIZES, assertOwnCursors } from "./queryHelpers.ts";

interface PageArgs {
  after?: string | null;
  before?: string | null;
}

async function sessionsPage(query: object, args: PageArgs, context: Context, scope: { roomId?: string; agentId?: string }) {
  await assertOwnCursors(args, (id) => context.services.prisma.session.count({ where: liveSessionWhere(context, id) }));
  return context.services.prisma.session.findMany({ ...query, where: liveSessionsWhere(context, scope), orderBy: SESSION_ORDER });
}

const listOptions = { type: "Session", cursor: "id", ...CONNECTION_SIZES, authScopes: { authenticated: true }, directives: requiresReady } as const;

builder.objectField(ViewerRef, "sessions", (t) =>
  t.prismaConnection(
    { ...listOptions, description: "Your conversations (room sessions and direct chats), latest activity first.", resolve: (query, _viewer, args, context) => sessionsPage(query, args, context, {}) },
    { name: "ViewerSessionsConnection" },
    { name: "ViewerSessionsEdge" },
  ),
);

builder.objectField(RoomRef, "sessions", (t) =>
  t.prismaConnection(
    { ...listOptions, description: "This room's sessions, latest activity first.", resolve: (query, room, args, context) => sessionsPage(query, args, context, { roomId: room.id }) },
    { name: "RoomSessionsConnection" },
    { name: "RoomSessionsEdge" },
  ),
);

builder.objectField(AgentRef, "sessions", (t) =>
  t.prismaConnection(
    { ...listOptions, description: "Your direct chats with this agent, latest activity first.", resolve: (query, agent, args, context) => sessionsPage(query, args, context, { agentId: agent.id }) },
    { name: "AgentSessionsConnection" },
    { name: "AgentSessionsEdge" },
  ),
);
