// What a turn costs the database, counted: every statement the server sends
// from a 3-agent roundtable message's sendMessage to the turn's end, credits
// enforced (each call held, SPEC 14). The ceiling keeps a change that adds
// round trips to the turn path from landing unnoticed; the figures are in
// docs/development.md (performance notes).
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { graphqlClient } from "./support/graphqlClient.ts";
import { createTestUser } from "./fixtures/users.ts";
import { createCouncil, sendAccepted } from "./fixtures/turns.ts";
import { recordStatements, type StatementRecorder } from "./support/statementRecorder.ts";
import { streamTurnEvents } from "./support/eventClient.ts";

/**
 * Statements for one 3-agent roundtable turn, transaction control included:
 * the accept's read and the turn's insert (the user's gate, the first step
 * and its hold), each step's ledger row with its result (3), each later
 * step's start with its hold (2), the end. 11 before the accept lost its
 * transaction (BEGIN, the lock, COMMIT).
 */
const MAX_STATEMENTS_PER_TURN = 6;

/**
 * A subscriber on the instance running the turn, following it to its end with
 * the typed TurnEvents document: none. It catches up from the events this
 * instance published (turns/runningTurnEvents.ts, TurnRun.kept); it read them from the
 * database before, and before that also read back the balance the ending now
 * carries.
 */
const MAX_STATEMENTS_PER_FOLLOWER = 0;

let database: TestDatabase;
let server: TestServer;
let poller: pg.Client;
let recorder: StatementRecorder;

beforeAll(async () => {
  database = await createMigratedDatabase("turn_statements");
  server = await startTestServer(database.url, { CREDIT_ENFORCEMENT: "enforce" });
  poller = new pg.Client({ connectionString: database.url });
  await poller.connect();
  // The server runs in this process; the test's own poller is not counted.
  recorder = recordStatements(poller);
});
afterAll(async () => {
  recorder?.stop();
  await poller?.end();
  await server?.close();
  await database?.drop();
});

async function ended(turnId: string): Promise<void> {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
    const { rows } = await poller.query("SELECT status FROM turns WHERE id = $1", [turnId]);
    if (rows[0]?.status !== "running") return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`turn ${turnId} did not end`);
}

function summary(statements: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const text of statements) {
    const head = text.replace(/\s+/g, " ").trim().slice(0, 60);
    counts[head] = (counts[head] ?? 0) + 1;
  }
  return counts;
}

test("a 3-agent roundtable turn, credits enforced, costs a bounded number of statements", async () => {
  const user = await createTestUser();
  const client = graphqlClient(server.graphqlUrl, user.token);
  const council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"], ["bob", "DEEPSEEK"], ["cyd", "LLAMA"]]);
  await ended(await sendAccepted(client, council.sessionId, "Warm up: statements get prepared, the user is cached."));
  recorder.clear();
  await ended(await sendAccepted(client, council.sessionId, "How should we launch?"));
  const statements = [...recorder.statements];
  expect(statements.length, JSON.stringify(summary(statements), null, 2)).toBeLessThanOrEqual(MAX_STATEMENTS_PER_TURN);
});

test("following the turn to its end over SSE on the instance running it adds no statement: the catch-up is from memory, the ending carries the balance its release left", async () => {
  const user = await createTestUser();
  const client = graphqlClient(server.graphqlUrl, user.token);
  const council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"], ["bob", "DEEPSEEK"], ["cyd", "LLAMA"]]);
  const follow = async (content: string) => {
    const turnId = await sendAccepted(client, council.sessionId, content);
    const { events } = await streamTurnEvents(server.graphqlUrl, user.token, turnId).done;
    await ended(turnId);
    return events.at(-1);
  };
  await follow("Warm up: statements get prepared, the user is cached.");
  recorder.clear();
  const ending = await follow("How should we launch?");
  const statements = [...recorder.statements];
  expect(ending).toMatchObject({ __typename: "TurnCompleted", creditsAvailableAfter: expect.stringMatching(/^\d+\.\d{4}$/) });
  expect(statements.length, JSON.stringify(summary(statements), null, 2)).toBeLessThanOrEqual(MAX_STATEMENTS_PER_TURN + MAX_STATEMENTS_PER_FOLLOWER);
});
