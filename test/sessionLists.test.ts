// What a chat UI needs of sessions: lists by latest activity (the viewer's,
// a room's, an agent's direct chats) with title, preview, turn count and
// last activity; the transcript paged back from the newest messages; rename
// and delete with typed outcomes.
import pg from "pg";
import { describe, expect, test } from "vitest";
import {
  AgentSessionsDocument,
  DeleteSessionDocument,
  RenameSessionDocument,
  RoomSessionsDocument,
  SessionDocument,
  SessionMessagesDocument,
  ViewerSessionsDocument,
} from "./generated/graphql.ts";
import { useCouncilServer } from "./support/councilServer.ts";
import { dataOf, errorCodes, graphqlClient } from "./support/graphqlClient.ts";
import { createAgent, createCouncil, createSession, sendAccepted, waitForTurn } from "./fixtures/turns.ts";
import { createTestUser } from "./fixtures/users.ts";

const harness = useCouncilServer("session_lists");

async function freshUser() {
  return graphqlClient(harness.server.graphqlUrl, (await createTestUser()).token);
}

async function chat(client: ReturnType<typeof graphqlClient>, sessionId: string, content: string) {
  return waitForTurn(client, await sendAccepted(client, sessionId, content));
}

/** The statements the server sent through its pool while `work` ran, with the rows each returned (0 until answered). */
async function poolReads(work: () => Promise<void>): Promise<{ text: string; rows: number }[]> {
  const { pool } = harness.server.runtime;
  const reads: { text: string; rows: number }[] = [];
  const query = pool.query.bind(pool);
  pool.query = ((config: unknown, ...rest: unknown[]) => {
    const read = { text: typeof config === "string" ? config : (config as { text: string }).text, rows: 0 };
    reads.push(read);
    const result = (query as (...args: unknown[]) => Promise<{ rowCount: number | null }> | undefined)(config, ...rest);
    return result?.then((answer) => ((read.rows = answer.rowCount ?? 0), answer));
  }) as typeof pool.query;
  try {
    await work();
  } finally {
    pool.query = query;
  }
  return reads;
}

describe("sessions lists", () => {
  test("viewer.sessions: latest activity first, titled by the first message, with preview, turn count and last activity", async () => {
    const client = await freshUser();
    const older = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"]]);
    const newer = await createCouncil(client, "ROUNDTABLE", [["bob", "QWEN"]]);
    await chat(client, older.sessionId, "Plan the launch\nwith details");
    await chat(client, newer.sessionId, "Second conversation");
    let list = dataOf(await client(ViewerSessionsDocument, { first: 10 })).viewer!.sessions.edges.map((edge) => edge.node);
    expect(list.map((session) => session.id)).toEqual([newer.sessionId, older.sessionId]);
    await chat(client, older.sessionId, "And one more thing");
    list = dataOf(await client(ViewerSessionsDocument, { first: 10 })).viewer!.sessions.edges.map((edge) => edge.node);
    expect(list.map((session) => session.id)).toEqual([older.sessionId, newer.sessionId]);
    expect(list[0]).toMatchObject({ title: "Plan the launch", turnCount: 2, lastMessagePreview: `Answer from ${older.agents[0]!.agentKey}.`, room: { id: older.roomId } });
    expect(new Date(list[0]!.lastActivityAt).getTime()).toBeGreaterThan(new Date(list[1]!.lastActivityAt).getTime());
  });

  test("previews read the latest shared message of each session and no other, however long the conversations", async () => {
    const client = await freshUser();
    const short = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"]]);
    const long = await createCouncil(client, "ROUNDTABLE", [["bob", "QWEN"]]);
    const emoji = "🙂".repeat(71);
    for (let i = 0; i < 3; i++) await chat(client, short.sessionId, `question ${i}`);
    harness.script.outputs.set(long.agents[0]!.agentKey, `${"x".repeat(139)}yz and more`);
    for (let i = 0; i < 3; i++) await chat(client, long.sessionId, `question ${i}`);
    const unread = await createCouncil(client, "ROUNDTABLE", [["cyd", "QWEN"]]);
    harness.script.outputs.set(short.agents[0]!.agentKey, emoji);
    await chat(client, short.sessionId, "the last question");
    let previews;
    const reads = await poolReads(async () => {
      previews = dataOf(await client(ViewerSessionsDocument, { first: 10 })).viewer!.sessions.edges.map((edge) => [edge.node.id, edge.node.lastMessagePreview]);
    });
    // 140 UTF-16 units at most, cut with an ellipsis, never inside an emoji (two units).
    expect(previews).toEqual([
      [short.sessionId, `${"🙂".repeat(69)}…`],
      [unread.sessionId, null],
      [long.sessionId, `${"x".repeat(139)}…`],
    ]);
    // Fourteen shared messages in those sessions; the page reads one of each session that has any.
    const messageRows = reads.filter((read) => /\bmessages\b/.test(read.text)).reduce((sum, read) => sum + read.rows, 0);
    expect(messageRows).toBe(2);
  });

  test("pages do not overlap; a foreign cursor is NOT_FOUND", async () => {
    const client = await freshUser();
    const council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"]]);
    for (let i = 0; i < 2; i++) await createSession(client, { roomId: council.roomId });
    const first = dataOf(await client(ViewerSessionsDocument, { first: 2 })).viewer!.sessions;
    const second = dataOf(await client(ViewerSessionsDocument, { first: 2, after: first.pageInfo.endCursor })).viewer!.sessions;
    const ids = [...first.edges, ...second.edges].map((edge) => edge.node.id);
    expect(new Set(ids).size).toBe(3);
    expect(first.pageInfo.hasNextPage).toBe(true);
    expect(second.pageInfo.hasNextPage).toBe(false);
    const stranger = await freshUser();
    expect(errorCodes(await stranger(ViewerSessionsDocument, { first: 2, after: first.pageInfo.endCursor }))).toEqual(["NOT_FOUND"]);
  });

  test("Room.sessions lists the room's; Agent.sessions the direct chats with that agent", async () => {
    const client = await freshUser();
    const council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"]]);
    const agent = await createAgent(client, "solo_agent");
    const direct = await createSession(client, { agentId: agent.id });
    const roomIds = dataOf(await client(RoomSessionsDocument, { id: council.roomId, first: 10 })).room!.sessions.edges.map((edge) => edge.node.id);
    expect(roomIds).toEqual([council.sessionId]);
    const agentIds = dataOf(await client(AgentSessionsDocument, { id: agent.id, first: 10 })).agent!.sessions.edges.map((edge) => edge.node.id);
    expect(agentIds).toEqual([direct]);
  });
});

describe("the transcript", () => {
  test("messages(last: n) is the newest page in conversation order; before pages back to the start", async () => {
    const client = await freshUser();
    const council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"]]);
    await chat(client, council.sessionId, "first");
    await chat(client, council.sessionId, "second");
    const newest = dataOf(await client(SessionMessagesDocument, { id: council.sessionId, last: 3 })).session!.messages;
    const answer = `Answer from ${council.agents[0]!.agentKey}.`;
    expect(newest.edges.map((edge) => [edge.node.role, edge.node.content])).toEqual([["AGENT", answer], ["USER", "second"], ["AGENT", answer]]);
    expect(newest.pageInfo.hasPreviousPage).toBe(true);
    const older = dataOf(await client(SessionMessagesDocument, { id: council.sessionId, last: 3, before: newest.pageInfo.startCursor })).session!.messages;
    expect(older.edges.map((edge) => edge.node.content)).toEqual(["first"]);
    expect(older.pageInfo.hasPreviousPage).toBe(false);
  });

  test("a message's createdAt is its instant to the millisecond (cut, as Date cuts microseconds), the same on the page read with the session and on a page read by cursor", async () => {
    const client = await freshUser();
    const council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"]]);
    await chat(client, council.sessionId, "first");
    await chat(client, council.sessionId, "second");
    const db = new pg.Client({ connectionString: harness.database.url });
    await db.connect();
    try {
      // Two messages a microsecond apart, the second at .999999: order and truncation both show.
      const { rows } = await db.query<{ id: string }>(
        `UPDATE messages m SET created_at = '2026-03-01T09:30:00.999998+00'::timestamptz + (o.n * interval '1 microsecond')
           FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) - 1 AS n FROM messages WHERE session_id = $1 AND role = 'user') o
          WHERE m.id = o.id RETURNING m.id`,
        [council.sessionId],
      );
      expect(rows).toHaveLength(2);
    } finally {
      await db.end();
    }
    const withSession = dataOf(await client(SessionMessagesDocument, { id: council.sessionId, last: 4 })).session!.messages.edges;
    const byCursor = dataOf(await client(SessionMessagesDocument, { id: council.sessionId, last: 3, before: withSession.at(-1)!.cursor })).session!.messages.edges;
    const users = (edges: typeof withSession) => edges.filter((edge) => edge.node.role === "USER").map((edge) => [edge.node.content, edge.node.createdAt]);
    expect(users(withSession)).toEqual([["first", "2026-03-01T09:30:00.999Z"], ["second", "2026-03-01T09:30:00.999Z"]]);
    expect(users(byCursor)).toEqual(users(withSession));
    for (const edge of [...withSession, ...byCursor]) expect(edge.node.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const shared = byCursor.map((edge) => edge.node.id);
    expect(withSession.filter((edge) => shared.includes(edge.node.id))).toEqual(byCursor);
  });

  test("a page costs one SQL statement however long the conversation (the session and its newest page together)", async () => {
    const client = await freshUser();
    const council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"]]);
    for (let i = 0; i < 4; i++) await chat(client, council.sessionId, `message ${i}`);
    await client(SessionMessagesDocument, { id: council.sessionId, last: 2 });
    const reads = await poolReads(async () => {
      const page = dataOf(await client(SessionMessagesDocument, { id: council.sessionId, last: 2 })).session!.messages;
      expect(page.edges.map((edge) => edge.node.role)).toEqual(["USER", "AGENT"]);
    });
    expect(reads.filter((read) => /messages/.test(read.text))).toHaveLength(1);
  });
});

describe("rename and delete", () => {
  test("rename sets the title; bad titles are VALIDATION_FAILED and change nothing; another user's session is NOT_FOUND", async () => {
    const client = await freshUser();
    const council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"]]);
    const renamed = dataOf(await client(RenameSessionDocument, { input: { id: council.sessionId, title: "  Launch plan  " } })).renameSession;
    expect(renamed).toMatchObject({ __typename: "RenameSessionSuccess", session: { title: "Launch plan" } });
    for (const title of ["", "   ", "x".repeat(201), "bad\u0000title", "half \uD800 surrogate"]) {
      expect(dataOf(await client(RenameSessionDocument, { input: { id: council.sessionId, title } })).renameSession).toMatchObject({ __typename: "ValidationError", code: "VALIDATION_FAILED" });
    }
    const stranger = await freshUser();
    expect(dataOf(await stranger(RenameSessionDocument, { input: { id: council.sessionId, title: "mine now" } })).renameSession.__typename).toBe("NotFoundError");
    expect(dataOf(await client(ViewerSessionsDocument, { first: 5 })).viewer!.sessions.edges[0]!.node.title).toBe("Launch plan");
    expect(errorCodes(await graphqlClient(harness.server.graphqlUrl)(RenameSessionDocument, { input: { id: council.sessionId, title: "anon" } }))).toEqual(["UNAUTHENTICATED"]);
  });

  test("delete removes the session from every list and from session(id); its turns' usage stays", async () => {
    const client = await freshUser();
    const council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"]]);
    const turn = await chat(client, council.sessionId, "Something to remember");
    expect(dataOf(await client(DeleteSessionDocument, { input: { id: council.sessionId } })).deleteSession.__typename).toBe("DeleteSessionSuccess");
    expect(dataOf(await client(ViewerSessionsDocument, { first: 5 })).viewer!.sessions.edges).toEqual([]);
    expect(errorCodes(await client(SessionDocument, { id: council.sessionId }))).toEqual(["NOT_FOUND"]);
    expect(dataOf(await client(DeleteSessionDocument, { input: { id: council.sessionId } })).deleteSession.__typename).toBe("NotFoundError");
    expect(await harness.server.runtime.prisma.llmCallEvent.count({ where: { turnId: turn.id } })).toBe(1);
  });
});
