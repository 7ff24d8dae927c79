// Rooms through real HTTP: lifecycle, roster, mode rule, Gate B, soft delete.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  AssignAgentDocument,
  CreateRoomDocument,
  DeleteAgentDocument,
  DeleteRoomDocument,
  ReorderRoomAgentsDocument,
  RestoreRoomDocument,
  RoomDocument,
  RoomEveryFieldDocument,
  RoomsBackwardDocument,
  RoomsDocument,
  RoomsEveryFieldDocument,
  SetRoomModeDocument,
  UnassignAgentDocument,
  UpdateRoomDocument,
} from "./generated/graphql.ts";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { dataOf, errorCodes, graphqlClient, type GraphQLClient } from "./support/graphqlClient.ts";
import { createTestUser } from "./fixtures/users.ts";
import { assignAgent, createAgent, createRoom } from "./fixtures/rooms.ts";

let database: TestDatabase;
let server: TestServer;
let sql: pg.Client;
let client: GraphQLClient;

beforeAll(async () => {
  database = await createMigratedDatabase("rooms");
  server = await startTestServer(database.url);
  sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
  client = graphqlClient(server.graphqlUrl, (await createTestUser()).token);
});
afterAll(async () => {
  await sql?.end();
  await server?.close();
  await database?.drop();
});

describe("room lifecycle", () => {
  test("create, read, update, list, delete, restore", async () => {
    const created = dataOf(await client(CreateRoomDocument, { input: { name: "  Strategy  ", goal: "Plan Q3" } })).createRoom;
    expect(created).toMatchObject({ __typename: "CreateRoomSuccess", room: { name: "Strategy", goal: "Plan Q3", currentMode: "MANUAL", pendingMode: null, agents: [] } });
    if (created.__typename !== "CreateRoomSuccess") return;
    const id = created.room.id;

    expect(dataOf(await client(RoomDocument, { id })).room).toMatchObject({ id, name: "Strategy" });
    const updated = dataOf(await client(UpdateRoomDocument, { input: { id, goal: "Plan Q4" } })).updateRoom;
    expect(updated).toMatchObject({ room: { name: "Strategy", goal: "Plan Q4" } });
    const listed = dataOf(await client(RoomsDocument, { first: 50 })).rooms.edges.map((edge) => edge.node.id);
    expect(listed).toContain(id);

    const deleted = dataOf(await client(DeleteRoomDocument, { input: { id } })).deleteRoom;
    expect(deleted).toMatchObject({ __typename: "DeleteRoomSuccess", room: { id, deletedAt: expect.any(String) } });
    expect(errorCodes(await client(RoomDocument, { id }))).toEqual(["NOT_FOUND"]);
    expect(dataOf(await client(RoomsDocument, { first: 50 })).rooms.edges.map((edge) => edge.node.id)).not.toContain(id);
    expect(dataOf(await client(UpdateRoomDocument, { input: { id, name: "x" } })).updateRoom).toMatchObject({ code: "NOT_FOUND" });

    const restored = dataOf(await client(RestoreRoomDocument, { input: { id } })).restoreRoom;
    expect(restored).toMatchObject({ __typename: "RestoreRoomSuccess", room: { id, deletedAt: null } });
    expect(dataOf(await client(RoomDocument, { id })).room?.id).toBe(id);
  });

  test("restoreRoom: CONFLICT for a live room and after 7 days", async () => {
    const room = await createRoom(client);
    expect(dataOf(await client(RestoreRoomDocument, { input: { id: room.id } })).restoreRoom).toMatchObject({ code: "CONFLICT" });
    await client(DeleteRoomDocument, { input: { id: room.id } });
    await sql.query("UPDATE rooms SET deleted_at = now() - interval '7 days 1 minute' WHERE id = $1", [room.id]);
    expect(dataOf(await client(RestoreRoomDocument, { input: { id: room.id } })).restoreRoom).toMatchObject({ __typename: "ConflictError", code: "CONFLICT" });
    expect(errorCodes(await client(RoomDocument, { id: room.id }))).toEqual(["NOT_FOUND"]);
  });

  test.each([
    ["empty name", { name: "   " }, ["name"]],
    ["name over 120", { name: "n".repeat(121) }, ["name"]],
    ["goal over 2000", { name: "ok", goal: "g".repeat(2001) }, ["goal"]],
  ])("createRoom rejects %s with per-field issues", async (_label, input, path) => {
    const result = dataOf(await client(CreateRoomDocument, { input })).createRoom;
    expect(result).toMatchObject({ __typename: "ValidationError", code: "VALIDATION_FAILED", issues: [{ path }] });
  });

  test("updateRoom rejects invalid input and unknown or malformed ids", async () => {
    const room = await createRoom(client);
    expect(dataOf(await client(UpdateRoomDocument, { input: { id: room.id, name: "" } })).updateRoom).toMatchObject({ code: "VALIDATION_FAILED", issues: [{ path: ["name"] }] });
    expect(dataOf(await client(UpdateRoomDocument, { input: { id: "not-a-uuid", name: "x" } })).updateRoom).toMatchObject({ code: "NOT_FOUND" });
    expect(errorCodes(await client(RoomDocument, { id: "not-a-uuid" }))).toEqual(["NOT_FOUND"]);
    expect(dataOf(await client(DeleteRoomDocument, { input: { id: crypto.randomUUID() } })).deleteRoom).toMatchObject({ code: "NOT_FOUND" });
  });
});

describe("mode rule and Gate B", () => {
  test("setRoomMode changes pendingMode only", async () => {
    const room = await createRoom(client);
    const result = dataOf(await client(SetRoomModeDocument, { input: { roomId: room.id, mode: "ROUNDTABLE" } })).setRoomMode;
    expect(result).toMatchObject({ room: { currentMode: "MANUAL", pendingMode: "ROUNDTABLE" } });
    const stored = await sql.query("SELECT current_mode, pending_mode FROM rooms WHERE id = $1", [room.id]);
    expect(stored.rows[0]).toEqual({ current_mode: "manual", pending_mode: "roundtable" });
  });

  test("orchestrator is NOT_READY (gate routing) while the manager model lacks structured output", async () => {
    const room = await createRoom(client);
    await sql.query(`INSERT INTO app_settings (key, value) VALUES ('orchestrator_manager_model', '{"alias":"llama"}')`);
    try {
      await server.runtime.readiness.recheck();
      const refused = dataOf(await client(SetRoomModeDocument, { input: { roomId: room.id, mode: "ORCHESTRATOR" } })).setRoomMode;
      expect(refused).toMatchObject({ __typename: "NotReadyError", code: "NOT_READY", gate: "routing", reasons: [expect.stringContaining("llama")] });
      const created = dataOf(await client(CreateRoomDocument, { input: { name: "Orchestrated", mode: "ORCHESTRATOR" } })).createRoom;
      expect(created).toMatchObject({ __typename: "NotReadyError", gate: "routing" });
      const other = dataOf(await client(SetRoomModeDocument, { input: { roomId: room.id, mode: "ROUNDTABLE" } })).setRoomMode;
      expect(other).toMatchObject({ room: { pendingMode: "ROUNDTABLE" } });
    } finally {
      await sql.query("DELETE FROM app_settings WHERE key = 'orchestrator_manager_model'");
      await server.runtime.readiness.recheck();
    }
    const allowed = dataOf(await client(SetRoomModeDocument, { input: { roomId: room.id, mode: "ORCHESTRATOR" } })).setRoomMode;
    expect(allowed).toMatchObject({ room: { currentMode: "MANUAL", pendingMode: "ORCHESTRATOR" } });
  });
});

describe("roster", () => {
  test("assign appends or inserts at a position, unassign and reorder keep position order", async () => {
    const room = await createRoom(client);
    const [a, b, c] = [await createAgent(client), await createAgent(client), await createAgent(client)];
    await assignAgent(client, room.id, a.id);
    await assignAgent(client, room.id, b.id);
    const inserted = dataOf(await client(AssignAgentDocument, { input: { roomId: room.id, agentId: c.id, position: 0 } })).assignAgent;
    expect(inserted).toMatchObject({ room: { agents: [{ id: c.id }, { id: a.id }, { id: b.id }] } });

    const reordered = dataOf(await client(ReorderRoomAgentsDocument, { input: { roomId: room.id, agentIds: [b.id, c.id, a.id] } })).reorderRoomAgents;
    expect(reordered).toMatchObject({ room: { agents: [{ id: b.id }, { id: c.id }, { id: a.id }] } });

    const removed = dataOf(await client(UnassignAgentDocument, { input: { roomId: room.id, agentId: c.id } })).unassignAgent;
    expect(removed).toMatchObject({ room: { agents: [{ id: b.id }, { id: a.id }] } });
    const positions = await sql.query("SELECT position FROM room_agents WHERE room_id = $1 ORDER BY position", [room.id]);
    expect(positions.rows.map((row) => row.position)).toEqual([0, 1]);
    expect(dataOf(await client(UnassignAgentDocument, { input: { roomId: room.id, agentId: c.id } })).unassignAgent).toMatchObject({ code: "NOT_FOUND" });
  });

  test("assigning twice is CONFLICT; a deleted agent is NOT_FOUND and leaves every room", async () => {
    const room = await createRoom(client);
    const agent = await createAgent(client);
    await assignAgent(client, room.id, agent.id);
    expect(dataOf(await client(AssignAgentDocument, { input: { roomId: room.id, agentId: agent.id } })).assignAgent).toMatchObject({ __typename: "ConflictError", code: "CONFLICT" });
    await client(DeleteAgentDocument, { input: { id: agent.id } });
    expect(dataOf(await client(RoomDocument, { id: room.id })).room?.agents).toEqual([]);
    expect(dataOf(await client(AssignAgentDocument, { input: { roomId: room.id, agentId: agent.id } })).assignAgent).toMatchObject({ __typename: "NotFoundError", code: "NOT_FOUND" });
  });

  test.each([
    ["a missing agent", (ids: string[]) => ids.slice(1)],
    ["a duplicate", (ids: string[]) => [ids[0]!, ids[0]!, ids[1]!]],
    ["an agent not in the room", (ids: string[]) => [ids[0]!, crypto.randomUUID()]],
  ])("reorder rejects a list with %s", async (_label, mangle) => {
    const room = await createRoom(client);
    const agents = [await createAgent(client), await createAgent(client)];
    for (const agent of agents) await assignAgent(client, room.id, agent.id);
    const result = dataOf(await client(ReorderRoomAgentsDocument, { input: { roomId: room.id, agentIds: mangle(agents.map((agent) => agent.id)) } })).reorderRoomAgents;
    expect(result).toMatchObject({ __typename: "ValidationError", issues: [{ path: ["agentIds"] }] });
  });

  test("assign rejects a position past the end or negative", async () => {
    const room = await createRoom(client);
    const agent = await createAgent(client);
    for (const position of [1, -1]) {
      const result = dataOf(await client(AssignAgentDocument, { input: { roomId: room.id, agentId: agent.id, position } })).assignAgent;
      expect(result).toMatchObject({ code: "VALIDATION_FAILED", issues: [{ path: ["position"] }] });
    }
  });
});

describe("pagination", () => {
  test("rooms pages with cursors, newest first, without repeats", async () => {
    const pager = graphqlClient(server.graphqlUrl, (await createTestUser()).token);
    const names = ["r1", "r2", "r3", "r4", "r5"];
    for (const name of names) await createRoom(pager, name);
    const seen: string[] = [];
    let after: string | null | undefined;
    for (;;) {
      const page = dataOf(await pager(RoomsDocument, { first: 2, after })).rooms;
      seen.push(...page.edges.map((edge) => edge.node.name));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual([...names].reverse());
    // A malformed cursor fails while the page is planned, before any SQL: an error, no data.
    const malformed = await pager(RoomsDocument, { first: 2, after: "garbage" });
    expect(malformed.data).toBeNull();
    expect(malformed.errors?.[0]?.message).toMatch(/^Invalid cursor/);
    expect(malformed.errors?.[0]?.extensions?.code).toBe("VALIDATION_FAILED");
  });

  test("rooms pages backward with last and before, oldest page first", async () => {
    const pager = graphqlClient(server.graphqlUrl, (await createTestUser()).token);
    for (const name of ["r1", "r2", "r3", "r4", "r5"]) await createRoom(pager, name);
    const pages: string[][] = [];
    const flags: [boolean, boolean][] = [];
    let before: string | null | undefined;
    for (;;) {
      const page = dataOf(await pager(RoomsBackwardDocument, { last: 2, before })).rooms;
      pages.push(page.edges.map((edge) => edge.node.name));
      flags.push([page.pageInfo.hasPreviousPage, page.pageInfo.hasNextPage]);
      if (!page.pageInfo.hasPreviousPage) break;
      before = page.pageInfo.startCursor;
    }
    expect(pages).toEqual([["r2", "r1"], ["r4", "r3"], ["r5"]]);
    expect(flags).toEqual([[true, false], [true, true], [false, true]]);
  });
});

describe("the rooms page and room(id)", () => {
  test("answer every Room and Agent field alike, agents in position order without deleted ones", async () => {
    const owner = graphqlClient(server.graphqlUrl, (await createTestUser()).token);
    const rooms = [await createRoom(owner), await createRoom(owner)];
    const agents = [await createAgent(owner), await createAgent(owner), await createAgent(owner)];
    for (const agent of agents) await assignAgent(owner, rooms[0]!.id, agent.id);
    await assignAgent(owner, rooms[1]!.id, agents[0]!.id);
    await owner(ReorderRoomAgentsDocument, { input: { roomId: rooms[0]!.id, agentIds: [agents[2]!.id, agents[0]!.id, agents[1]!.id] } });
    await owner(SetRoomModeDocument, { input: { roomId: rooms[1]!.id, mode: "ROUNDTABLE" } });
    await owner(DeleteAgentDocument, { input: { id: agents[1]!.id } });

    const listed = dataOf(await owner(RoomsEveryFieldDocument, { first: 10 })).rooms.edges.map((edge) => edge.node);
    const single = await Promise.all(rooms.map(async (room) => dataOf(await owner(RoomEveryFieldDocument, { id: room.id })).room));
    expect(listed).toEqual([single[1], single[0]]);
    expect(listed[1]!.agents.map((agent) => agent.id)).toEqual([agents[2]!.id, agents[0]!.id]);
    expect(listed[0]).toMatchObject({ pendingMode: "ROUNDTABLE", agents: [{ id: agents[0]!.id, modelAlias: "QWEN", toolPermissions: ["SEARCH"], rolePrompt: "Be brief." }] });
  });
});
