// Agents through real HTTP: lifecycle, validation, agentKey uniqueness.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { AgentDocument, AgentEveryFieldDocument, AgentsBackwardDocument, AgentsDocument, CreateAgentDocument, DeleteAgentDocument, UpdateAgentDocument } from "./generated/graphql.ts";
import type { CreateAgentInput } from "./generated/graphql.ts";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { dataOf, errorCodes, graphqlClient, type GraphQLClient } from "./support/graphqlClient.ts";
import { createTestUser } from "./fixtures/users.ts";
import { createAgent } from "./fixtures/rooms.ts";

let database: TestDatabase;
let server: TestServer;
let client: GraphQLClient;

beforeAll(async () => {
  database = await createMigratedDatabase("agents");
  server = await startTestServer(database.url);
  client = graphqlClient(server.graphqlUrl, (await createTestUser()).token);
});
afterAll(async () => {
  await server?.close();
  await database?.drop();
});

const valid: CreateAgentInput = { agentKey: "analyst", name: "Analyst", modelAlias: "DEEPSEEK", rolePrompt: "Weigh evidence.", toolPermissions: ["SEARCH", "FILE_READ"] };

describe("agent lifecycle", () => {
  test("create, read, list, update, delete", async () => {
    const created = dataOf(await client(CreateAgentDocument, { input: valid })).createAgent;
    expect(created).toMatchObject({ __typename: "CreateAgentSuccess", agent: { agentKey: "analyst", modelAlias: "DEEPSEEK", toolPermissions: ["SEARCH", "FILE_READ"] } });
    if (created.__typename !== "CreateAgentSuccess") return;
    const id = created.agent.id;
    expect(dataOf(await client(AgentDocument, { id })).agent).toMatchObject({ id, name: "Analyst" });
    expect(dataOf(await client(AgentsDocument, { first: 10 })).agents.edges.map((edge) => edge.node.id)).toContain(id);

    const updated = dataOf(await client(UpdateAgentDocument, { input: { id, name: "Chief analyst", modelAlias: "PREMIUM", toolPermissions: [] } })).updateAgent;
    expect(updated).toMatchObject({ agent: { agentKey: "analyst", name: "Chief analyst", modelAlias: "PREMIUM", toolPermissions: [], rolePrompt: "Weigh evidence." } });

    expect(dataOf(await client(DeleteAgentDocument, { input: { id } })).deleteAgent).toMatchObject({ __typename: "DeleteAgentSuccess" });
    expect(errorCodes(await client(AgentDocument, { id }))).toEqual(["NOT_FOUND"]);
    expect(dataOf(await client(AgentsDocument, { first: 10 })).agents.edges.map((edge) => edge.node.id)).not.toContain(id);
    expect(dataOf(await client(UpdateAgentDocument, { input: { id, name: "x" } })).updateAgent).toMatchObject({ code: "NOT_FOUND" });
    expect(dataOf(await client(DeleteAgentDocument, { input: { id } })).deleteAgent).toMatchObject({ code: "NOT_FOUND" });
    // The key of a deleted agent is free again (the unique index covers live agents only).
    expect(dataOf(await client(CreateAgentDocument, { input: valid })).createAgent).toMatchObject({ __typename: "CreateAgentSuccess" });
  });

  test("agentKey is unique per owner (CONFLICT), not across owners", async () => {
    await createAgent(client, "scout");
    expect(dataOf(await client(CreateAgentDocument, { input: { ...valid, agentKey: "scout" } })).createAgent).toMatchObject({ __typename: "ConflictError", code: "CONFLICT" });
    const other = await createAgent(client, "ranger");
    expect(dataOf(await client(UpdateAgentDocument, { input: { id: other.id, agentKey: "scout" } })).updateAgent).toMatchObject({ code: "CONFLICT" });
    const stranger = graphqlClient(server.graphqlUrl, (await createTestUser()).token);
    expect(dataOf(await stranger(CreateAgentDocument, { input: { ...valid, agentKey: "scout" } })).createAgent).toMatchObject({ __typename: "CreateAgentSuccess" });
  });

  test.each([
    ["an agentKey with capitals", { agentKey: "Scout" }, ["agentKey"]],
    ["a one-character agentKey", { agentKey: "s" }, ["agentKey"]],
    ["a 33-character agentKey", { agentKey: "a".repeat(33) }, ["agentKey"]],
    ["an empty name", { name: " " }, ["name"]],
    ["a name over 120", { name: "n".repeat(121) }, ["name"]],
    ["a role prompt over 8000", { rolePrompt: "p".repeat(8001) }, ["rolePrompt"]],
    ["a repeated tool permission", { toolPermissions: ["SEARCH", "SEARCH"] }, ["toolPermissions"]],
  ] as const)("createAgent rejects %s", async (_label, change, path) => {
    const result = dataOf(await client(CreateAgentDocument, { input: { ...valid, ...change } as CreateAgentInput })).createAgent;
    expect(result).toMatchObject({ __typename: "ValidationError", code: "VALIDATION_FAILED", issues: [{ path }] });
  });

  test("updateAgent rejects invalid input; ids that name nothing are NOT_FOUND", async () => {
    const agent = await createAgent(client);
    expect(dataOf(await client(UpdateAgentDocument, { input: { id: agent.id, agentKey: "no spaces" } })).updateAgent).toMatchObject({ code: "VALIDATION_FAILED", issues: [{ path: ["agentKey"] }] });
    expect(dataOf(await client(UpdateAgentDocument, { input: { id: "42", name: "x" } })).updateAgent).toMatchObject({ code: "NOT_FOUND" });
    expect(errorCodes(await client(AgentDocument, { id: "42" }))).toEqual(["NOT_FOUND"]);
  });

  test("agents pages with cursors", async () => {
    const pager = graphqlClient(server.graphqlUrl, (await createTestUser()).token);
    for (const key of ["k1", "k2", "k3"]) await createAgent(pager, key);
    const first = dataOf(await pager(AgentsDocument, { first: 2 })).agents;
    expect(first.edges.map((edge) => edge.node.agentKey)).toEqual(["k3", "k2"]);
    const second = dataOf(await pager(AgentsDocument, { first: 2, after: first.pageInfo.endCursor })).agents;
    expect(second.edges.map((edge) => edge.node.agentKey)).toEqual(["k1"]);
    expect(second.pageInfo.hasNextPage).toBe(false);
    // Paging arguments the connection cannot take are typed bad input, not masked errors.
    for (const variables of [{ first: 2, after: "garbage" }, { first: -1 }]) {
      const rejected = await pager(AgentsDocument, variables);
      expect(rejected.data).toBeNull();
      expect(rejected.errors?.[0]?.extensions?.code).toBe("VALIDATION_FAILED");
    }
  });

  test("agents pages backward with last and before, every field as agent(id) answers it, deleted agents left out", async () => {
    const pager = graphqlClient(server.graphqlUrl, (await createTestUser()).token);
    const agents = [];
    for (const key of ["k1", "k2", "k3", "k4", "k5"]) agents.push(await createAgent(pager, key));
    await pager(UpdateAgentDocument, { input: { id: agents[3]!.id, modelAlias: "PREMIUM", toolPermissions: [], rolePrompt: "" } });
    await pager(DeleteAgentDocument, { input: { id: agents[2]!.id } });
    const pages: string[][] = [];
    const flags: [boolean, boolean][] = [];
    const listed = [];
    let before: string | null | undefined;
    for (;;) {
      const page = dataOf(await pager(AgentsBackwardDocument, { last: 2, before })).agents;
      pages.push(page.edges.map((edge) => edge.node.agentKey));
      flags.push([page.pageInfo.hasPreviousPage, page.pageInfo.hasNextPage]);
      expect([page.pageInfo.startCursor, page.pageInfo.endCursor]).toEqual([page.edges[0]!.cursor, page.edges.at(-1)!.cursor]);
      listed.push(...page.edges.map((edge) => edge.node));
      if (!page.pageInfo.hasPreviousPage) break;
      before = page.pageInfo.startCursor;
    }
    expect(pages).toEqual([["k2", "k1"], ["k5", "k4"]]);
    expect(flags).toEqual([[true, false], [false, true]]);
    const single = await Promise.all(listed.map(async (agent) => dataOf(await pager(AgentEveryFieldDocument, { id: agent.id })).agent));
    expect(listed).toEqual(single);
    expect(listed.find((agent) => agent.agentKey === "k4")).toMatchObject({ modelAlias: "PREMIUM", toolPermissions: [], rolePrompt: "" });
    expect(listed.find((agent) => agent.agentKey === "k5")).toMatchObject({ modelAlias: "QWEN", toolPermissions: ["SEARCH"], rolePrompt: "Be brief." });
    // A cursor is an agent's id: once that agent is deleted, paging from it is NOT_FOUND, not a page from nowhere.
    const cursor = dataOf(await pager(AgentsDocument, { first: 1 })).agents.pageInfo.endCursor;
    await pager(DeleteAgentDocument, { input: { id: agents[4]!.id } });
    expect(errorCodes(await pager(AgentsDocument, { first: 2, after: cursor }))).toEqual(["NOT_FOUND"]);
  });
});
