// What a chat UI needs of sessions: lists by latest activity (the viewer's,
// a room's, an agent's direct chats) with title, preview, turn count and
// last activity; the transcript paged back from the newest messages; rename
// and delete with typed outcomes.
import pg from "pg";
import { describe, expect, test } from "vitest";
import {
  AgentSessionsDocument,
  DeleteAgentDocument,
  DeleteRoomDocument,
  DeleteSessionDocument,
  RenameSessionDocument,
  RoomSessionsDocument,
  SessionDocument,
  SessionEveryFieldDocument,
  SessionMessagesDocument,
  ViewerSessionsDocument,
  ViewerSessionsEveryFieldDocument,
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

interface PoolRead {
  text: string;
  /** Rows returned; 0 until answered. */
  rows: number;
  /** The rows themselves. */
  answer: Record<string, unknown>[];
}

/** The statements the server sent through its pool while `work` ran, with the rows each returned. */
async function poolReads(work: () => Promise<void>): Promise<PoolRead[]> {
  const { pool } = harness.server.runtime;
  const reads: PoolRead[] = [];
  const query = pool.query.bind(pool);
  pool.query = ((config: unknown, ...rest: unknown[]) => {
    const read: PoolRead = { text: typeof config === "string" ? config : (config as { text: string }).text, rows: 0, answer: [] };
    reads.push(read);
    const result = (query as (...args: unknown[]) => Promise<{ rowCount: number | null; rows: Record<string, unknown>[] }> | undefined)(config, ...rest);
    return result?.then((answer) => ((read.rows = answer.rowCount ?? 0), (read.answer = answer.rows), answer));
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
    // Fourteen shared messages in those sessions, a few hundred characters each; the server is sent one
    // row a session, with at most a preview's length of its latest message (Prisma sent all fourteen whole).
    const messageReads = reads.filter((read) => /\bmessages\b/.test(read.text));
    expect(messageReads).toHaveLength(1);
    expect(messageReads[0]!.rows).toBe(3);
    const sent = messageReads[0]!.answer.map((row) => row.latestShared as string | null);
    expect(sent.filter((content) => content !== null)).toHaveLength(2);
    for (const content of sent) expect([...(content ?? "")].length).toBeLessThanOrEqual(141);
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

describe("sessions pages in SQL", () => {
  /** Two room sessions with turns (one room has two agents), one direct chat, one session not yet used; newest activity first. */
  async function sidebar(client: ReturnType<typeof graphqlClient>) {
    const planning = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"], ["bob", "QWEN"]]);
    const review = await createCouncil(client, "ROUNDTABLE", [["cyd", "QWEN"]]);
    const solo = await createAgent(client, `solo_${planning.agents[0]!.agentKey}`);
    const direct = await createSession(client, { agentId: solo.id });
    await chat(client, review.sessionId, "Review the draft");
    await chat(client, planning.sessionId, "Plan the launch");
    await chat(client, planning.sessionId, "And the budget");
    return { planning, review, solo, direct };
  }

  test("every field of a listed session is what session(id) answers; a direct chat carries its agent, a room session its room", async () => {
    const client = await freshUser();
    const { planning, review, solo, direct } = await sidebar(client);
    const nodes = dataOf(await client(ViewerSessionsEveryFieldDocument, { first: 10 })).viewer!.sessions.edges.map((edge) => edge.node);
    expect(nodes.map((node) => node.id)).toEqual([planning.sessionId, review.sessionId, direct]);
    for (const node of nodes) expect(dataOf(await client(SessionEveryFieldDocument, { id: node.id })).session).toEqual(node);
    expect(nodes[0]).toMatchObject({ turnCount: 2, agent: null, room: { id: planning.roomId, agents: planning.agents.map((agent) => ({ id: agent.id, agentKey: agent.agentKey })) } });
    expect(nodes[2]).toMatchObject({ turnCount: 0, lastMessagePreview: null, room: null, agent: { id: solo.id, agentKey: solo.agentKey, name: `Agent ${solo.agentKey}` } });
  });

  test("last/before page backward through the same order; a deleted session's, room's or agent's cursor is NOT_FOUND, and their sessions leave the list", async () => {
    const client = await freshUser();
    const { planning, review, solo, direct } = await sidebar(client);
    const extra = await createSession(client, { roomId: review.roomId });
    const forward = dataOf(await client(ViewerSessionsEveryFieldDocument, { first: 10 })).viewer!.sessions.edges.map((edge) => edge.node.id);
    expect(forward).toEqual([extra, planning.sessionId, review.sessionId, direct]);
    const last = dataOf(await client(ViewerSessionsEveryFieldDocument, { last: 2 })).viewer!.sessions;
    expect(last.edges.map((edge) => edge.node.id)).toEqual(forward.slice(2));
    expect(last.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: false });
    const before = dataOf(await client(ViewerSessionsEveryFieldDocument, { last: 5, before: last.pageInfo.startCursor })).viewer!.sessions;
    expect(before.edges.map((edge) => edge.node.id)).toEqual(forward.slice(0, 2));
    expect(before.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true });

    const cursorOf = (id: string) => last.edges.find((edge) => edge.node.id === id)?.cursor ?? before.edges.find((edge) => edge.node.id === id)!.cursor;
    const [roomCursor, agentCursor, sessionCursor] = [cursorOf(review.sessionId), cursorOf(direct), cursorOf(extra)];
    expect(dataOf(await client(DeleteSessionDocument, { input: { id: extra } })).deleteSession.__typename).toBe("DeleteSessionSuccess");
    expect(dataOf(await client(DeleteRoomDocument, { input: { id: review.roomId } })).deleteRoom.__typename).toBe("DeleteRoomSuccess");
    expect(dataOf(await client(DeleteAgentDocument, { input: { id: solo.id } })).deleteAgent.__typename).toBe("DeleteAgentSuccess");
    for (const cursor of [roomCursor, agentCursor, sessionCursor]) {
      expect(errorCodes(await client(ViewerSessionsEveryFieldDocument, { first: 2, after: cursor }))).toEqual(["NOT_FOUND"]);
    }
    expect(dataOf(await client(ViewerSessionsEveryFieldDocument, { first: 10 })).viewer!.sessions.edges.map((edge) => edge.node.id)).toEqual([planning.sessionId]);
  });

  test("a page costs one statement with its turn counts, previews, rooms with their agents and direct chats' agents, however many sessions; none through Prisma", async () => {
    const client = await freshUser();
    await sidebar(client);
    const statementsOfPage = async (expected: number) => {
      const reads = await poolReads(async () => {
        expect(dataOf(await client(ViewerSessionsEveryFieldDocument, { first: 20 })).viewer!.sessions.edges).toHaveLength(expected);
      });
      return reads.map((read) => read.text);
    };
    const small = await statementsOfPage(3);
    await sidebar(client);
    const large = await statementsOfPage(6);
    // The page, with its turn counts, previews, rooms (their agents included) and direct chats' agents.
    expect(small).toHaveLength(1);
    expect(large).toHaveLength(small.length);
    // Prisma quotes its schema's name; statements written here do not.
    expect(large.filter((text) => text.includes('"public".'))).toEqual([]);
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
