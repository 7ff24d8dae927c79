// The Session type, its query and mutations (create, rename, delete), and
// the sessions lists a chat UI shows (viewer.sessions, Room.sessions,
// Agent.sessions: latest activity first). Turns are added to Session by the
// turn schema.
import { builder } from "../builder.ts";
import { createSession, deleteSession, liveSessionWhere, renameSession } from "../resolvers/session.ts";
import { AgentRef } from "./agent.ts";
import { mutationResult } from "./mutationResult.ts";
import { assertOwnCursors, decodeQueryId, notFoundQueryError } from "./queryHelpers.ts";
import { pageWindow, toConnection } from "./cursorPage.ts";
import { MessageRef } from "./turn.ts";
import { selectLiveSessionWithPage, selectMessagePage, transcriptCursorCount, type SessionWithPage } from "../resolvers/messageSql.ts";
import { selectLiveSession } from "../resolvers/sessionSql.ts";
import { sessionAgent, sessionRoom, sessionTurnCount } from "../resolvers/sessionRelations.ts";
import { TRANSCRIPT_SIZES, transcriptWindow } from "./transcriptWindow.ts";
import { viewerId } from "../resolvers/viewer.ts";
import { lastMessagePreview, PREVIEW_CHARS } from "../resolvers/lastMessagePreview.ts";
import { requiresReady } from "./readinessDirective.ts";
import { RoomRef } from "./room.ts";

export const SessionRef = builder.prismaObject("Session", {
  fields: (t) => ({
    id: t.exposeID("id"),
    title: t.exposeString("title", { nullable: true, description: "Set by renameSession; until then the first line of the first message." }),
    // Loaders, not plugin-prisma relations: sessions read in SQL (the lists, session(id)) resolve as they are.
    room: t.field({ type: RoomRef, nullable: true, description: "Set for a room session.", resolve: (session, _args, context) => sessionRoom(session, context) }),
    agent: t.field({ type: AgentRef, nullable: true, description: "Set for a direct chat with one agent.", resolve: (session, _args, context) => sessionAgent(session, context) }),
    lastActivityAt: t.expose("lastActivityAt", { type: "DateTime", description: "When the last message was sent (the session's creation before that)." }),
    turnCount: t.int({ description: "Messages sent in this session (one turn each).", resolve: (session, _args, context) => sessionTurnCount(session, context) }),
    lastMessagePreview: t.string({
      nullable: true,
      description: `The start of the latest message in the transcript (at most ${PREVIEW_CHARS} characters); null before the first.`,
      resolve: (session, _args, context) => lastMessagePreview(session, context),
    }),
    // One prepared statement per page (the most read list of a chat UI); the same cursors and paging
    // as prismaConnection({ cursor: "id" }). A relation connection would load the whole transcript.
    messages: t.connection(
      {
        type: MessageRef,
        description: "The transcript in conversation order. The newest page first: messages(last: 50); page back with before: pageInfo.startCursor.",
        resolve: async (session: SessionWithPage, args, context) => {
          const window = pageWindow(args, TRANSCRIPT_SIZES);
          const preloaded = session.preloadedMessages;
          if (preloaded && !args.after && !args.before && preloaded.backward === window.backward && preloaded.limit === window.limit) {
            return toConnection(preloaded.rows, args, window);
          }
          const cursorId = await assertOwnCursors(args, (id) => transcriptCursorCount(context.services.pool, id, session.id));
          return toConnection(await selectMessagePage(context.services, { sessionId: session.id, cursorId, ...window }), args, window);
        },
      },
      { name: "SessionMessagesConnection" },
      { name: "SessionMessagesConnectionEdge" },
    ),
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

const RenameSessionInput = builder.inputType("RenameSessionInput", {
  fields: (t) => ({
    id: t.id({ required: true }),
    title: t.string({ required: true, description: "1 to 200 characters." }),
  }),
});

const DeleteSessionInput = builder.inputType("DeleteSessionInput", {
  fields: (t) => ({ id: t.id({ required: true }) }),
});

builder.queryField("session", (t) =>
  t.prismaField({
    type: "Session",
    nullable: true,
    description: "One of your sessions; NOT_FOUND for a missing or foreign id, or when its room or agent is deleted.",
    authScopes: { authenticated: true },
    directives: requiresReady,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, context, info) => {
      const id = decodeQueryId(args.id, "Session");
      // Nothing of its relations selected (a transcript page): prepared statements instead of a Prisma plan,
      // and the page itself in the same statement when it starts at an end of the transcript.
      let session;
      if (Object.keys(query).length > 0) session = await context.services.prisma.session.findFirst({ ...query, where: liveSessionWhere(context, id) });
      else {
        const window = transcriptWindow(info);
        session = window ? await selectLiveSessionWithPage(context.services, id, viewerId(context), window) : await selectLiveSession(context.services, id, viewerId(context));
      }
      return session ?? notFoundQueryError("Session");
    },
  }),
);

builder.mutationFields((t) => ({
  createSession: t.field({
    type: SessionRef,
    authScopes: { authenticated: true },
    directives: requiresReady,
    errors: mutationResult("CreateSession", "session"),
    args: { input: t.arg({ type: CreateSessionInput, required: true }) },
    resolve: (_root, { input }, context) => createSession(input, context),
  }),
  renameSession: t.field({
    type: SessionRef,
    authScopes: { authenticated: true },
    directives: requiresReady,
    errors: mutationResult("RenameSession", "session"),
    args: { input: t.arg({ type: RenameSessionInput, required: true }) },
    resolve: (_root, { input }, context) => renameSession(input, context),
  }),
  deleteSession: t.field({
    type: SessionRef,
    description: "Removes the session from every list; its turns and their usage stay in usage reports.",
    authScopes: { authenticated: true },
    directives: requiresReady,
    errors: mutationResult("DeleteSession", "session"),
    args: { input: t.arg({ type: DeleteSessionInput, required: true }) },
    resolve: (_root, { input }, context) => deleteSession(input, context),
  }),
}));
