// User B must not tell user A's rooms, agents and sessions apart from missing
// ones: NOT_FOUND on every query and mutation, nothing through cursors or
// nested fields, and A's data unchanged afterwards.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  AgentDocument,
  AgentsDocument,
  AssignAgentDocument,
  CreateSessionDocument,
  DeleteAgentDocument,
  DeleteRoomDocument,
  ReorderRoomAgentsDocument,
  RestoreRoomDocument,
  RoomDocument,
  RoomsDocument,
  SessionDocument,
  SetRoomModeDocument,
  UnassignAgentDocument,
  UpdateAgentDocument,
  UpdateRoomDocument,
} from "./generated/graphql.ts";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { dataOf, errorCodes, graphqlClient, type GraphQLClient } from "./support/graphqlClient.ts";
import { createTestUser } from "./fixtures/users.ts";
import { assignAgent, createAgent, createRoom } from "./fixtures/rooms.ts";

let database: TestDatabase;
let server: TestServer;
let alice: GraphQLClient;
let bob: GraphQLClient;
const a = { roomId: "", deletedRoomId: "", agentId: "", sessionId: "", directSessionId: "", roomCursor: "", agentCursor: "" };
const b = { roomId: "", agentId: "" };

beforeAll(async () => {
  database = await createMigratedDatabase("isolation");
  server = await startTestServer(database.url);
  alice = graphqlClient(server.graphqlUrl, (await createTestUser()).token);
  bob = graphqlClient(server.graphqlUrl, (await createTestUser()).token);

  const room = await createRoom(alice, "Alice's secret room");
  const agent = await createAgent(alice, "alice_agent");
  await createAgent(alice, "alice_second");
  await assignAgent(alice, room.id, agent.id);
  const deleted = await createRoom(alice, "Alice's deleted room");
  await alice(DeleteRoomDocument, { input: { id: deleted.id } });
  const session = dataOf(await alice(CreateSessionDocument, { input: { roomId: room.id } })).createSession;
  const direct = dataOf(await alice(CreateSessionDocument, { input: { agentId: agent.id } })).createSession;
  if (session.__typename !== "CreateSessionSuccess" || direct.__typename !== "CreateSessionSuccess") throw new Error("fixture failed");
  const rooms = dataOf(await alice(RoomsDocument, { first: 10 })).rooms;
  const agents = dataOf(await alice(AgentsDocument, { first: 10 })).agents;
  Object.assign(a, {
    roomId: room.id,
    deletedRoomId: deleted.id,
    agentId: agent.id,
    sessionId: session.session.id,
    directSessionId: direct.session.id,
    roomCursor: rooms.edges[0]!.cursor,
    agentCursor: agents.edges[0]!.cursor,
  });
  b.roomId = (await createRoom(bob, "Bob's room")).id;
  b.agentId = (await createAgent(bob, "bob_agent")).id;
  await assignAgent(bob, b.roomId, b.agentId);
});
afterAll(async () => {
  await server?.close();
  await database?.drop();
});

describe("queries", () => {
  test.each([
    ["room", () => bob(RoomDocument, { id: a.roomId })],
    ["deleted room", () => bob(RoomDocument, { id: a.deletedRoomId })],
    ["agent", () => bob(AgentDocument, { id: a.agentId })],
    ["room session", () => bob(SessionDocument, { id: a.sessionId })],
    ["direct session", () => bob(SessionDocument, { id: a.directSessionId })],
    ["rooms after A's cursor", () => bob(RoomsDocument, { first: 5, after: a.roomCursor })],
    ["agents after A's cursor", () => bob(AgentsDocument, { first: 5, after: a.agentCursor })],
  ])("%s: NOT_FOUND and no data", async (_label, run) => {
    const response = await run();
    expect(errorCodes(response)).toEqual(["NOT_FOUND"]);
    expect(JSON.stringify(response.data ?? null)).not.toMatch(/alice|Alice/);
  });

  test("B's lists and nested agents hold only B's rows", async () => {
    const rooms = dataOf(await bob(RoomsDocument, { first: 50 })).rooms.edges.map((edge) => edge.node);
    expect(rooms.map((room) => room.id)).toEqual([b.roomId]);
    expect(rooms[0]!.agents.map((agent) => agent.id)).toEqual([b.agentId]);
    expect(dataOf(await bob(AgentsDocument, { first: 50 })).agents.edges.map((edge) => edge.node.id)).toEqual([b.agentId]);
  });
});

describe("mutations", () => {
  test.each([
    ["updateRoom", () => bob(UpdateRoomDocument, { input: { id: a.roomId, name: "mine" } }).then((r) => dataOf(r).updateRoom)],
    ["setRoomMode", () => bob(SetRoomModeDocument, { input: { roomId: a.roomId, mode: "ROUNDTABLE" } }).then((r) => dataOf(r).setRoomMode)],
    ["deleteRoom", () => bob(DeleteRoomDocument, { input: { id: a.roomId } }).then((r) => dataOf(r).deleteRoom)],
    ["restoreRoom", () => bob(RestoreRoomDocument, { input: { id: a.deletedRoomId } }).then((r) => dataOf(r).restoreRoom)],
    ["assignAgent into A's room", () => bob(AssignAgentDocument, { input: { roomId: a.roomId, agentId: b.agentId } }).then((r) => dataOf(r).assignAgent)],
    ["assignAgent of A's agent", () => bob(AssignAgentDocument, { input: { roomId: b.roomId, agentId: a.agentId } }).then((r) => dataOf(r).assignAgent)],
    ["unassignAgent", () => bob(UnassignAgentDocument, { input: { roomId: a.roomId, agentId: a.agentId } }).then((r) => dataOf(r).unassignAgent)],
    ["unassignAgent of A's agent from B's room", () => bob(UnassignAgentDocument, { input: { roomId: b.roomId, agentId: a.agentId } }).then((r) => dataOf(r).unassignAgent)],
    ["reorderRoomAgents", () => bob(ReorderRoomAgentsDocument, { input: { roomId: a.roomId, agentIds: [a.agentId] } }).then((r) => dataOf(r).reorderRoomAgents)],
    ["updateAgent", () => bob(UpdateAgentDocument, { input: { id: a.agentId, name: "mine" } }).then((r) => dataOf(r).updateAgent)],
    ["deleteAgent", () => bob(DeleteAgentDocument, { input: { id: a.agentId } }).then((r) => dataOf(r).deleteAgent)],
    ["createSession in A's room", () => bob(CreateSessionDocument, { input: { roomId: a.roomId } }).then((r) => dataOf(r).createSession)],
    ["createSession with A's agent", () => bob(CreateSessionDocument, { input: { agentId: a.agentId } }).then((r) => dataOf(r).createSession)],
  ])("%s: NOT_FOUND", async (_label, run) => {
    expect(await run()).toMatchObject({ __typename: "NotFoundError", code: "NOT_FOUND" });
  });

  test("A's data is unchanged after B's attempts", async () => {
    const room = dataOf(await alice(RoomDocument, { id: a.roomId })).room;
    expect(room).toMatchObject({ name: "Alice's secret room", pendingMode: null, deletedAt: null, agents: [{ id: a.agentId }] });
    expect(dataOf(await alice(AgentDocument, { id: a.agentId })).agent).toMatchObject({ name: "Agent alice_agent" });
    expect(errorCodes(await alice(RoomDocument, { id: a.deletedRoomId }))).toEqual(["NOT_FOUND"]);
    expect(dataOf(await alice(SessionDocument, { id: a.sessionId })).session?.room?.id).toBe(a.roomId);
  });
});
