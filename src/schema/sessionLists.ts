// Sessions lists for a chat UI: the viewer's, a room's and an agent's direct
// chats, latest activity first. Cursors must name the viewer's live sessions.
// One prepared SQL statement per page (sessionSql.ts), with the same cursors,
// paging and errors as prismaConnection({ cursor: "id" }), which reads each
// session's turn count, preview, room and agent with it when they are
// selected.
import type { GraphQLResolveInfo } from "graphql";
import { builder } from "../builder.ts";
import type { Context } from "../context.ts";
import { selectLiveSession, selectSessionPage, sessionPreload, type SessionScope } from "../resolvers/sessionSql.ts";
import { roomSelection } from "../resolvers/roomSql.ts";
import { viewerId } from "../resolvers/viewer.ts";
import { ViewerRef } from "./viewer.ts";
import { RoomRef } from "./room.ts";
import { AgentRef } from "./agent.ts";
import { SessionRef } from "./session.ts";
import { requiresReady } from "./readinessDirective.ts";
import { pageWindow, toConnection, type ConnectionArgs } from "./cursorPage.ts";
import { CONNECTION_SIZES, assertOwnCursors } from "./queryHelpers.ts";
import { cachedPerFieldNode, selectedFields } from "./selectedFields.ts";

const preloadOf = cachedPerFieldNode((info) => {
  const fields = selectedFields(info, ["edges", "node"]);
  const under = (...path: string[]) => (fields.has(path[0]!) ? selectedFields(info, ["edges", "node", ...path]) : null);
  const roomFields = under("room");
  const room = roomFields ? roomSelection(roomFields, roomFields.has("agents") ? under("room", "agents") : null) : null;
  return sessionPreload(fields, room, under("agent"));
});

async function sessionsPage(args: ConnectionArgs, context: Context, info: GraphQLResolveInfo, scope: SessionScope) {
  const window = pageWindow(args, CONNECTION_SIZES);
  const ownerId = viewerId(context);
  const cursorId = await assertOwnCursors(args, async (id) => ((await selectLiveSession(context.services, id, ownerId)) ? 1 : 0));
  const sessions = await selectSessionPage(context.services, { ownerId, scope, cursorId, ...window, preload: preloadOf(info) });
  return toConnection(sessions, args, window);
}

const listOptions = { type: SessionRef, authScopes: { authenticated: true }, directives: requiresReady } as const;

builder.objectField(ViewerRef, "sessions", (t) =>
  t.connection(
    { ...listOptions, description: "Your conversations (room sessions and direct chats), latest activity first.", resolve: (_viewer, args, context, info) => sessionsPage(args, context, info, {}) },
    { name: "ViewerSessionsConnection" },
    { name: "ViewerSessionsEdge" },
  ),
);

builder.objectField(RoomRef, "sessions", (t) =>
  t.connection(
    { ...listOptions, description: "This room's sessions, latest activity first.", resolve: (room, args, context, info) => sessionsPage(args, context, info, { roomId: room.id }) },
    { name: "RoomSessionsConnection" },
    { name: "RoomSessionsEdge" },
  ),
);

builder.objectField(AgentRef, "sessions", (t) =>
  t.connection(
    { ...listOptions, description: "Your direct chats with this agent, latest activity first.", resolve: (agent, args, context, info) => sessionsPage(args, context, info, { agentId: agent.id }) },
    { name: "AgentSessionsConnection" },
    { name: "AgentSessionsEdge" },
  ),
);
