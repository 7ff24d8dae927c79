// Several instances (SPEC 12): three servers on loopback ports, one database,
// a Redis of the test's own. A subscriber on any instance follows a turn
// live with the same numbers; SIGTERM drains an instance and its clients
// resume elsewhere; CONFLICT and the rate limit hold across instances; a
// lost Redis costs deltas, never the turn's end.
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { startServerProcess, type ServerProcess } from "./support/serverProcess.ts";
import { startTestRedis, type TestRedis } from "./support/redisServer.ts";
import { startFakeOpenRouter, type FakeOpenRouter } from "./support/fakeOpenRouter.ts";
import { REFERENCE_USAGE, agentKeyOf } from "./support/councilProvider.ts";
import { graphqlClient, type GraphQLClient } from "./support/graphqlClient.ts";
import { streamTurnEvents, type StreamedEvent } from "./support/eventClient.ts";
import { auditLedger } from "./support/chaos.ts";
import { createCouncil, send, sendAccepted, waitForTurn } from "./fixtures/turns.ts";
import { createTestUser } from "./fixtures/users.ts";
import { INTERRUPTED_SHUTDOWN_ERROR } from "../src/turns/leaseSql.ts";

const RATE_LIMIT_PER_MINUTE = 4;

let database: TestDatabase;
let admin: pg.Pool;
let redis: TestRedis;
let fake: FakeOpenRouter;
const held = new Map<string, Promise<void>>();
const servers: ServerProcess[] = [];
let [a, b, c] = [] as unknown as [ServerProcess, ServerProcess, ServerProcess];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function startInstance(env: Record<string, string> = {}) {
  return startServerProcess(database.url, {
    REDIS_URL: redis.url,
    OPENROUTER_API_KEY: "sk-or-test-fake",
    OPENROUTER_BASE_URL: fake.baseUrl,
    TURN_LEASE_MS: "3000",
    RATE_LIMIT_TURNS_PER_MINUTE: String(RATE_LIMIT_PER_MINUTE),
    ...env,
  }).then((server) => (servers.push(server), server));
}

/** Holds the named agent's provider call until the returned function is called. */
function hold(agentKey: string): () => void {
  let release!: () => void;
  held.set(agentKey, new Promise((resolve) => (release = resolve)));
  return () => {
    held.delete(agentKey);
    release();
  };
}

async function user() {
  const { token } = await createTestUser();
  return { token, on: (server: ServerProcess): GraphQLClient => graphqlClient(server.graphqlUrl, token) };
}

async function until(check: () => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not reached");
    await sleep(20);
  }
}

const isEnding = (event: StreamedEvent) => event.__typename === "TurnCompleted" || event.__typename === "TurnFailed";

beforeAll(async () => {
  database = await createMigratedDatabase("instances");
  admin = new pg.Pool({ connectionString: database.url, max: 2 });
  redis = await startTestRedis();
  fake = await startFakeOpenRouter(async (call) => {
    await held.get(agentKeyOf(call) ?? "");
    return { kind: "stream", content: `Answer from ${agentKeyOf(call)}, in several chunks of streamed text.`, usage: REFERENCE_USAGE, chunkDelayMs: 15 };
  });
  [a, b, c] = await Promise.all([startInstance(), startInstance(), startInstance({ SHUTDOWN_TURN_DEADLINE_MS: "1500" })]);
}, 180_000);

afterAll(async () => {
  for (const server of servers) await server.stop("SIGKILL");
  await fake?.close();
  await redis?.stop();
  await admin?.end();
  await database?.drop();
});

test("a subscriber on B follows a turn running on A live, deltas included, with A's numbering", async () => {
  const alice = await user();
  const council = await createCouncil(alice.on(a), "ROUNDTABLE", [["ada", "QWEN"], ["bob", "QWEN"]]);
  const release = hold(council.agents[0]!.agentKey);
  const turnId = await sendAccepted(alice.on(a), council.sessionId, "Go");
  const onA = streamTurnEvents(a.graphqlUrl, alice.token, turnId);
  const onB = streamTurnEvents(b.graphqlUrl, alice.token, turnId);
  await until(() => onA.events.length > 0 && onB.events.length > 0);
  await sleep(300);
  release();
  const [fromA, fromB] = await Promise.all([onA.done, onB.done]);
  expect(fromB.error).toBeNull();
  expect(fromB.events.filter((event) => event.__typename === "StepDelta").length).toBeGreaterThan(2);
  expect(fromB.events).toEqual(fromA.events);
  expect(isEnding(fromB.events.at(-1)!)).toBe(true);
});

test("SIGTERM to the instance running a turn: /readyz 503 at once, the turn ends as interrupted past the deadline, clients resume elsewhere and see it end, exit 0, the ledger exact", async () => {
  const alice = await user();
  const council = await createCouncil(alice.on(c), "ROUNDTABLE", [["ada", "QWEN"], ["bob", "QWEN"]]);
  const releaseSecond = hold(council.agents[1]!.agentKey);
  const turnId = await sendAccepted(alice.on(c), council.sessionId, "Go");
  const stream = streamTurnEvents(c.graphqlUrl, alice.token, turnId);
  await until(() => stream.events.filter((event) => event.__typename === "StepStarted").length === 2);
  // A second client follows, through C, a turn that A runs: C's shutdown must hand it over, not end it.
  const elsewhere = await createCouncil(alice.on(a), "ROUNDTABLE", [["cyd", "QWEN"]]);
  const releaseOnA = hold(elsewhere.agents[0]!.agentKey);
  const turnOnA = await sendAccepted(alice.on(a), elsewhere.sessionId, "Go");
  const follower = streamTurnEvents(c.graphqlUrl, alice.token, turnOnA);
  await until(() => follower.events.some((event) => event.__typename === "StepStarted"));

  c.child.kill("SIGTERM");
  const readyz = c.graphqlUrl.replace("/graphql", "/readyz");
  // The signal takes a moment to arrive; then readiness fails while the server still answers.
  const deadline = Date.now() + 2_000;
  let status = 200;
  while (status === 200 && Date.now() < deadline) status = (await fetch(readyz)).status;
  expect(status).toBe(503);
  expect((await send(alice.on(c), council.sessionId, "Another")).__typename).toBe("NotReadyError");

  const first = await stream.done;
  let events = first.events;
  if (first.error) {
    expect(first.error.extensions).toMatchObject({ code: "SERVER_SHUTTING_DOWN" });
    const resumeAfter = first.error.extensions!.resumeAfterSequence as number;
    expect(resumeAfter).toBe(events.at(-1)!.sequence);
    events = [...events, ...(await streamTurnEvents(b.graphqlUrl, alice.token, turnId, resumeAfter).done).events];
  }
  expect(await c.exited).toBe(0);
  releaseSecond();

  const sequences = events.map((event) => event.sequence);
  expect(new Set(sequences).size).toBe(sequences.length);
  expect(sequences).toEqual([...sequences].sort((x, y) => x - y));
  expect(events.at(-1)).toMatchObject({ __typename: "TurnCompleted", turnStatus: "PARTIAL" });
  const turn = await waitForTurn(alice.on(b), turnId);
  expect([turn.status, turn.error]).toEqual(["PARTIAL", INTERRUPTED_SHUTDOWN_ERROR]);
  const audit = await auditLedger(admin, fake.answeredIds);
  expect({ unmetered: audit.unmetered, duplicates: audit.duplicates }).toEqual({ unmetered: 0, duplicates: 0 });
  expect((await send(alice.on(b), council.sessionId, "Are you there?")).__typename).toBe("SendMessageSuccess");
  expect(c.output()).toMatch(/shutdown: done/);

  const cut = await follower.done;
  expect(cut.error?.extensions).toMatchObject({ code: "SERVER_SHUTTING_DOWN", resumeAfterSequence: cut.events.at(-1)!.sequence });
  const resumed = streamTurnEvents(b.graphqlUrl, alice.token, turnOnA, cut.error!.extensions!.resumeAfterSequence as number);
  releaseOnA();
  const rest = await resumed.done;
  expect(rest.error).toBeNull();
  expect(rest.events.every((event) => event.sequence > cut.events.at(-1)!.sequence)).toBe(true);
  expect(rest.events.at(-1)).toMatchObject({ __typename: "TurnCompleted", turnStatus: "COMPLETED" });
}, 60_000);

test("CONFLICT and the rate limit hold across instances", async () => {
  const bob = await user();
  const council = await createCouncil(bob.on(a), "ROUNDTABLE", [["ada", "QWEN"]]);
  const release = hold(council.agents[0]!.agentKey);
  const results = await Promise.all([send(bob.on(a), council.sessionId, "one"), send(bob.on(b), council.sessionId, "two")]);
  expect(results.map((result) => result.__typename).sort()).toEqual(["ConflictError", "SendMessageSuccess"]);
  release();
  await waitForTurn(bob.on(a), (results.find((result) => result.__typename === "SendMessageSuccess") as { turn: { id: string } }).turn.id);

  const instances = [a, b, a];
  for (let sent = 1; sent < RATE_LIMIT_PER_MINUTE; sent++) {
    await waitForTurn(bob.on(a), await sendAccepted(bob.on(instances[sent - 1]!), council.sessionId, `message ${sent}`));
  }
  const limited = await send(bob.on(b), council.sessionId, "one too many");
  expect(limited.__typename).toBe("RateLimitedError");
}, 60_000);

test("Redis stopped mid-turn: a subscriber on another instance still sees the turn end; when Redis returns, deltas flow again", async () => {
  const carol = await user();
  const council = await createCouncil(carol.on(a), "ROUNDTABLE", [["ada", "QWEN"]]);
  const release = hold(council.agents[0]!.agentKey);
  const turnId = await sendAccepted(carol.on(a), council.sessionId, "Go");
  const onB = streamTurnEvents(b.graphqlUrl, carol.token, turnId);
  await until(() => onB.events.length > 0);
  await redis.stop();
  release();
  const { events, error } = await onB.done;
  expect(error).toBeNull();
  expect(events.at(-1)).toMatchObject({ __typename: "TurnCompleted", turnStatus: "COMPLETED" });
  expect(a.child.exitCode).toBeNull();
  expect(b.child.exitCode).toBeNull();

  await redis.start();
  // ioredis reconnects by itself; a later turn's deltas reach B live again.
  const deadline = Date.now() + 20_000;
  let deltas = 0;
  while (deltas === 0 && Date.now() < deadline) {
    const again = hold(council.agents[0]!.agentKey);
    const next = await sendAccepted(carol.on(a), council.sessionId, "Again");
    const stream = streamTurnEvents(b.graphqlUrl, carol.token, next);
    await until(() => stream.events.length > 0);
    await sleep(300);
    again();
    deltas = (await stream.done).events.filter((event) => event.__typename === "StepDelta").length;
  }
  expect(deltas).toBeGreaterThan(0);
}, 90_000);
