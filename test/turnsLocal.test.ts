// Offline: with no OpenRouter key the local provider runs every mode,
// orchestrator included (its routing is a valid structured decision).
import { afterAll, beforeAll, expect, test } from "vitest";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { graphqlClient, type GraphQLClient } from "./support/graphqlClient.ts";
import { createTestUser } from "./fixtures/users.ts";
import { createCouncil, send, sendAccepted, waitForTurn } from "./fixtures/turns.ts";

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
  expect(turn.steps.map((step) => [step.kind, step.agentKey])).toEqual([["MANAGER_ROUTE", null], ["AGENT", bob], ["MANAGER_CONTINUE", null], ["MANAGER_SYNTHESIS", null]]);
  // The offline manager stops after one round.
  expect(turn.stopReason).toBe("DONE");
  const rows = await server.runtime.prisma.llmCallEvent.findMany({ where: { turnId: turn.id } });
  expect(rows).toHaveLength(4);
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

test("declared behind a transaction pooler (unnamed statements), turns run and are limited the same way", async () => {
  const pooled = await startTestServer(database.url, { DATABASE_POOL_MODE: "transaction", RATE_LIMIT_TURNS_PER_MINUTE: "2" });
  try {
    // Named (prepared) statements on the connection declared direct, unnamed on the one declared a transaction pooler.
    expect([server.runtime.statements.named, pooled.runtime.statements.named]).toEqual([true, false]);
    const pooledClient = graphqlClient(pooled.graphqlUrl, (await createTestUser()).token);
    const council = await createCouncil(pooledClient, "ROUNDTABLE", [["ada", "QWEN"], ["bob", "QWEN"]]);
    for (const seq of [1, 2]) {
      const turn = await waitForTurn(pooledClient, await sendAccepted(pooledClient, council.sessionId, `Message ${seq}`));
      expect([turn.seq, turn.status, turn.usageTotals.calls]).toEqual([seq, "COMPLETED", 2]);
    }
    const limited = await send(pooledClient, council.sessionId, "One too many");
    expect(limited.__typename).toBe("RateLimitedError");
    expect(await pooled.runtime.prisma.turn.count({ where: { sessionId: council.sessionId } })).toBe(2);
  } finally {
    await pooled.close();
  }
});
