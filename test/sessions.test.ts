// Sessions through real HTTP: room sessions, direct chats, the exactly-one rule.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CreateSessionDocument, DeleteAgentDocument, DeleteRoomDocument, SessionDocument } from "./generated/graphql.ts";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { dataOf, errorCodes, graphqlClient, type GraphQLClient } from "./support/graphqlClient.ts";
import { createTestUser } from "./fixtures/users.ts";
import { createAgent, createRoom } from "./fixtures/rooms.ts";

let database: TestDatabase;
let server: TestServer;
let client: GraphQLClient;

beforeAll(async () => {
  database = await createMigratedDatabase("sessions");
  server = await startTestServer(database.url);
  client = graphqlClient(server.graphqlUrl, (await createTestUser()).token);
});
afterAll(async () => {
  await server?.close();
  await database?.drop();
});

async function newSession(input: { roomId?: string; agentId?: string }) {
  const result = dataOf(await client(CreateSessionDocument, { input })).createSession;
  if (result.__typename !== "CreateSessionSuccess") throw new Error(JSON.stringify(result));
  return result.session;
}

describe("sessions", () => {
  test("a room session and a direct chat, each readable by id", async () => {
    const room = await createRoom(client);
    const agent = await createAgent(client);
    const roomSession = await newSession({ roomId: room.id });
    expect(roomSession).toMatchObject({ room: { id: room.id }, agent: null });
    const direct = await newSession({ agentId: agent.id });
    expect(direct).toMatchObject({ room: null, agent: { id: agent.id } });
    expect(dataOf(await client(SessionDocument, { id: roomSession.id })).session).toMatchObject({ room: { id: room.id, name: room.name } });
    expect(dataOf(await client(SessionDocument, { id: direct.id })).session).toMatchObject({ agent: { agentKey: agent.agentKey } });
  });

  test.each([
    ["neither id", {}],
    ["both ids", { roomId: crypto.randomUUID(), agentId: crypto.randomUUID() }],
  ])("createSession with %s is a ValidationError", async (_label, input) => {
    const result = dataOf(await client(CreateSessionDocument, { input })).createSession;
    expect(result).toMatchObject({ __typename: "ValidationError", issues: [{ path: ["roomId"] }, { path: ["agentId"] }] });
  });

  test("deleted or unknown scopes are NOT_FOUND; sessions of a deleted room disappear", async () => {
    const room = await createRoom(client);
    const agent = await createAgent(client);
    const session = await newSession({ roomId: room.id });
    const direct = await newSession({ agentId: agent.id });
    await client(DeleteRoomDocument, { input: { id: room.id } });
    await client(DeleteAgentDocument, { input: { id: agent.id } });
    expect(dataOf(await client(CreateSessionDocument, { input: { roomId: room.id } })).createSession).toMatchObject({ code: "NOT_FOUND" });
    expect(dataOf(await client(CreateSessionDocument, { input: { agentId: agent.id } })).createSession).toMatchObject({ code: "NOT_FOUND" });
    expect(dataOf(await client(CreateSessionDocument, { input: { roomId: "nope" } })).createSession).toMatchObject({ code: "NOT_FOUND" });
    expect(errorCodes(await client(SessionDocument, { id: session.id }))).toEqual(["NOT_FOUND"]);
    expect(errorCodes(await client(SessionDocument, { id: direct.id }))).toEqual(["NOT_FOUND"]);
    expect(errorCodes(await client(SessionDocument, { id: crypto.randomUUID() }))).toEqual(["NOT_FOUND"]);
  });
});
