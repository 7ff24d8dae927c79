// Nested selections cost a bounded number of SQL statements: rooms(first: 20)
// with their agents costs the same for 2 rooms as for 20, and a session's
// turns with their messages the same for 2 turns as for 8.
import { afterAll, beforeAll, expect, test } from "vitest";
import { RoomsWithAgentsDocument, SessionTurnsWithMessagesDocument, ViewerDocument } from "./generated/graphql.ts";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { dataOf, graphqlClient } from "./support/graphqlClient.ts";
import { createTestUser, type TestUser } from "./fixtures/users.ts";
import { recordStatements, type StatementRecorder } from "./support/statementRecorder.ts";
import { seedRoomsWithAgents } from "./fixtures/seed.ts";
import { createCouncil, sendAccepted, waitForTurn } from "./fixtures/turns.ts";

const MAX_STATEMENTS = 1; // the rooms page with each room's agents (json_agg)
let database: TestDatabase;
let server: TestServer;
let recorder: StatementRecorder;

beforeAll(async () => {
  database = await createMigratedDatabase("nplusone");
  server = await startTestServer(database.url);
  recorder = recordStatements();
});
afterAll(async () => {
  recorder?.stop();
  await server?.close();
  await database?.drop();
});

async function statementsFor(user: TestUser): Promise<{ statements: string[]; rooms: number; agents: number }> {
  const client = graphqlClient(server.graphqlUrl, user.token);
  dataOf(await client(ViewerDocument)); // the user row is created and cached first
  recorder.clear();
  const rooms = dataOf(await client(RoomsWithAgentsDocument, { first: 20 })).rooms.edges;
  const statements = [...recorder.statements];
  return { statements, rooms: rooms.length, agents: rooms.reduce((sum, edge) => sum + edge.node.agents.length, 0) };
}

test("rooms(first: 20) with agents: same statement count for 2 and 20 rooms", async () => {
  const few = await createTestUser();
  const many = await createTestUser();
  await seedRoomsWithAgents(database.url, few.id, 2, 3);
  await seedRoomsWithAgents(database.url, many.id, 20, 3);

  const small = await statementsFor(few);
  const large = await statementsFor(many);
  expect([small.rooms, small.agents]).toEqual([2, 6]);
  expect([large.rooms, large.agents]).toEqual([20, 60]);
  expect(large.statements.length).toBe(small.statements.length);
  expect(large.statements.length).toBeLessThanOrEqual(MAX_STATEMENTS);
});

test("a session's turns with their messages: same statement count for 2 and 8 turns", async () => {
  const counts: { statements: number; turns: number; messages: number }[] = [];
  for (const turns of [2, 8]) {
    const user = await createTestUser();
    const client = graphqlClient(server.graphqlUrl, user.token);
    const council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"], ["bob", "QWEN"]]);
    for (let index = 0; index < turns; index++) await waitForTurn(client, await sendAccepted(client, council.sessionId, `Question ${index}`));
    recorder.clear();
    const edges = dataOf(await client(SessionTurnsWithMessagesDocument, { id: council.sessionId })).session!.turns.edges;
    counts.push({ statements: recorder.statements.length, turns: edges.length, messages: edges.reduce((sum, edge) => sum + edge.node.messages.length, 0) });
  }
  expect(counts.map(({ turns, messages }) => [turns, messages])).toEqual([
    [2, 6],
    [8, 24],
  ]);
  expect(counts[1]!.statements).toBe(counts[0]!.statements);
});
