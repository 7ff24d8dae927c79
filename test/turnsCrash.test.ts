// A server process killed (SIGKILL) mid-turn: calls that finished are metered
// with their results, the call in flight leaves neither a row nor a result.
import { afterAll, beforeAll, expect, test } from "vitest";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { TEST_JWT_SECRET } from "./support/server.ts";
import { startNpm, type StartedProcess } from "./support/startProcess.ts";
import { graphqlClient } from "./support/graphqlClient.ts";
import { startFakeOpenRouter, type FakeOpenRouter } from "./support/fakeOpenRouter.ts";
import { agentKeyOf, councilHandler, newScript } from "./support/councilProvider.ts";
import { createTestUser } from "./fixtures/users.ts";
import { createCouncil, sendAccepted } from "./fixtures/turns.ts";
import { createDb, type DbHandle } from "../src/db.ts";
import { freePort } from "./support/serverProcess.ts";

let database: TestDatabase;
let fake: FakeOpenRouter;
let child: StartedProcess | undefined;
let db: DbHandle;


beforeAll(async () => {
  database = await createMigratedDatabase("crash");
  db = createDb({ poolUrl: database.url, poolMax: 2 });
});
afterAll(async () => {
  if (child && child.child.exitCode === null) await child.stop("SIGKILL");
  await fake?.close();
  await db?.close();
  await database?.drop();
});

test("SIGKILL mid-turn leaves finished calls metered with their results and no orphan rows", async () => {
  const script = newScript();
  let secondAgent = "";
  const answer = councilHandler(script);
  // The second agent's call never answers: the process dies while it is in flight.
  fake = await startFakeOpenRouter((call) => (agentKeyOf(call) === secondAgent ? { kind: "hang" } : answer(call)));
  const port = await freePort();
  child = await startNpm(
    {
      APP_ENV: "test",
      PORT: String(port),
      DATABASE_URL: database.url,
      DATABASE_POOL_URL: database.url,
      SUPABASE_JWT_SECRET: TEST_JWT_SECRET,
      OPENROUTER_API_KEY: "sk-or-test-fake",
      OPENROUTER_BASE_URL: fake.baseUrl,
      LOG_LEVEL: "error",
    },
    /GraphQL: http:\/\/localhost:\d+/,
  );
  const client = graphqlClient(`http://127.0.0.1:${port}/graphql`, (await createTestUser()).token);
  const council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"], ["bob", "QWEN"], ["cyd", "QWEN"]]);
  secondAgent = council.agents[1]!.agentKey;
  const turnId = await sendAccepted(client, council.sessionId, "Go");
  const deadline = Date.now() + 20_000;
  while (!fake.calls.some((call) => agentKeyOf(call) === secondAgent)) {
    if (Date.now() > deadline) throw new Error("the second agent was never called");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await child.stop("SIGKILL");

  const rows = await db.prisma.llmCallEvent.findMany({ where: { turnId } });
  const steps = await db.prisma.turnStep.findMany({ where: { turnId }, orderBy: { seq: "asc" } });
  expect(fake.completed).toBe(1);
  expect(rows).toHaveLength(fake.completed);
  expect(steps.map((step) => [step.agentKey, step.status])).toEqual([
    [council.agents[0]!.agentKey, "completed"],
    [secondAgent, "running"],
  ]);
  // Every row has its result and every result its row.
  expect(rows[0]!.stepId).toBe(steps[0]!.id);
  expect(steps[0]!.output).toBe(`Answer from ${council.agents[0]!.agentKey}.`);
  expect(steps[1]!.output).toBeNull();
  expect(await db.prisma.message.count({ where: { turnId, role: "agent" } })).toBe(1);
  expect(await db.prisma.turnContextAudit.count({ where: { turnId } })).toBe(1);
});
