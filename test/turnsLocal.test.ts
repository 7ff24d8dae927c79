// Offline: with no OpenRouter key the local provider runs every mode,
// orchestrator included (its routing is a valid structured decision).
import { afterAll, beforeAll, expect, test } from "vitest";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { graphqlClient, type GraphQLClient } from "./support/graphqlClient.ts";
import { createTestUser } from "./fixtures/users.ts";
import { createCouncil, sendAccepted, waitForTurn } from "./fixtures/turns.ts";

let database: TestDatabase;
let server: TestServer;
let client: GraphQLClient;

beforeAll(async () => {
  database = await createMigratedDatabase("local");
  server = await startTestServer(database.url);
  client = graphqlClient(server.graphqlUrl, (await createTestUser()).token);
});
afterAll(async () => {
  await server?.close();
  await database?.drop();
});

test("orchestrator mode works end to end offline: the manager routes to the agent the message names", async () => {
  const council = await createCouncil(client, "ORCHESTRATOR", [["ada", "QWEN"], ["bob", "DEEPSEEK"]]);
  const bob = council.agents[1]!.agentKey;
  const turn = await waitForTurn(client, await sendAccepted(client, council.sessionId, `Ask ${bob} about pricing`));
  expect(turn.status).toBe("COMPLETED");
  expect(turn.steps.map((step) => [step.kind, step.agentKey])).toEqual([["MANAGER_ROUTE", null], ["AGENT", bob], ["MANAGER_SYNTHESIS", null]]);
  const rows = await server.runtime.prisma.llmCallEvent.findMany({ where: { turnId: turn.id } });
  expect(rows).toHaveLength(3);
  expect(new Set(rows.map((row) => row.provider))).toEqual(new Set(["local"]));
  expect(rows.every((row) => row.outputTokens > 0 && row.creditsBurned.greaterThan(0))).toBe(true);
});

test("roundtable offline: deterministic answers, every call metered", async () => {
  const council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"], ["bob", "QWEN"], ["cyd", "QWEN"]]);
  const turn = await waitForTurn(client, await sendAccepted(client, council.sessionId, "Hello council"));
  expect(turn.status).toBe("COMPLETED");
  expect(turn.steps.every((step) => step.output?.startsWith("[qwen "))).toBe(true);
  expect(turn.usageTotals.calls).toBe(3);
});
