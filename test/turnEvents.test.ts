// turnEvents over real SSE: every event in order with increasing sequence
// numbers (kept events at multiples of KEPT_STRIDE, deltas between); a client
// that joins mid-turn or resumes after a sequence gets every later kept
// event, and every live one, exactly once, with the same numbers; the stream
// completes at the turn's ending. Also the per-user rate limit.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { TurnEventsDocument, type TurnEventsSubscription } from "./generated/graphql.ts";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { graphqlClient, type GraphQLClient } from "./support/graphqlClient.ts";
import { startFakeOpenRouter, type FakeOpenRouter } from "./support/fakeOpenRouter.ts";
import { councilHandler, newScript, type CouncilScript } from "./support/councilProvider.ts";
import { subscribe } from "./support/sse.ts";
import { getEventListeners } from "node:events";
import pg from "pg";
import { createPubSub } from "graphql-yoga";
import { KEPT_STRIDE } from "../src/turns/events.ts";
import { TurnStreams, turnTopic } from "../src/turns/eventStream.ts";
import { createTestUser, type TestUser } from "./fixtures/users.ts";
import { createCouncil, send, sendAccepted, waitForTurn } from "./fixtures/turns.ts";

type Event = TurnEventsSubscription["turnEvents"];

let database: TestDatabase;
let server: TestServer;
let fake: FakeOpenRouter;
let user: TestUser;
let client: GraphQLClient;
let script: CouncilScript;

beforeAll(async () => {
  database = await createMigratedDatabase("turnevents");
  script = newScript();
  fake = await startFakeOpenRouter(councilHandler(script));
  server = await startTestServer(database.url, {
    OPENROUTER_API_KEY: "sk-or-test-fake",
    OPENROUTER_BASE_URL: fake.baseUrl,
    RATE_LIMIT_TURNS_PER_MINUTE: "6",
  });
  user = await createTestUser();
  client = graphqlClient(server.graphqlUrl, user.token);
});
afterAll(async () => {
  await server?.close();
  await fake?.close();
  await database?.drop();
});

const pickEvent = (data: TurnEventsSubscription) => data.turnEvents;
const events = (turnId: string, afterSequence = 0) => subscribe(server.graphqlUrl, user.token, TurnEventsDocument, { turnId, afterSequence }, pickEvent);
const names = (list: Event[]) => list.map((event) => event.__typename);

async function until(check: () => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not reached");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("turnEvents over SSE", () => {
  test("a client receives every event in order, kept events at multiples of the stride and deltas between them, deltas adding up to each output", async () => {
    const council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"], ["bob", "QWEN"]]);
    let release!: () => void;
    script.hold = new Promise((resolve) => (release = resolve));
    const turnId = await sendAccepted(client, council.sessionId, "Go");
    const subscription = events(turnId);
    release();
    const received = await subscription.done;
    script.hold = null;
    const sequences = received.map((event) => event.sequence);
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    expect(new Set(sequences).size).toBe(sequences.length);
    const kept = received.filter((event) => event.__typename !== "StepDelta");
    expect(kept.map((event) => event.sequence)).toEqual(kept.map((_, index) => (index + 1) * KEPT_STRIDE));
    const kinds = names(received).filter((name) => name !== "StepDelta");
    expect(kinds).toEqual(["TurnStarted", "StepStarted", "StepCompleted", "StepStarted", "StepCompleted", "TurnCompleted"]);
    // Each StepCompleted names its agent, as the StepStarted of its step did.
    const startedAgent = new Map(received.flatMap((event) => (event.__typename === "StepStarted" ? [[event.stepId, event.agentKey] as const] : [])));
    const completedAgents = received.flatMap((event) => (event.__typename === "StepCompleted" ? [event.agentKey] : []));
    expect(completedAgents).toEqual([council.agents[0]!.agentKey, council.agents[1]!.agentKey]);
    for (const completed of received.filter((event) => event.__typename === "StepCompleted")) {
      expect((completed as { agentKey: string | null }).agentKey).toBe(startedAgent.get((completed as { stepId: string }).stepId));
      const deltas = received.filter((event) => event.__typename === "StepDelta" && event.stepId === (completed as { stepId: string }).stepId);
      expect(deltas.map((delta) => (delta as { delta: string }).delta).join("")).toBe((completed as { output: string }).output);
      expect(deltas.length).toBeGreaterThan(0);
    }
    const turn = await waitForTurn(client, turnId);
    expect(received.at(-1)).toMatchObject({ __typename: "TurnCompleted", turnStatus: turn.status });
  });

  test("StepCompleted carries each step's cost and TurnCompleted the turn's, equal to the ledger, live and replayed alike", async () => {
    const council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"], ["bob", "PREMIUM"]]);
    const turnId = await sendAccepted(client, council.sessionId, "Go");
    const live = await events(turnId).done;
    // Reference usage per call: OE 800 → credits 800/10000 × {qwen 0.5, premium 14}; cost 0.0025 each.
    const perStep = { calls: 1, inputTokensFresh: 800, inputTokensCached: 200, outputTokens: 500, totalTokens: 1500, providerCostUsd: "0.00250000" };
    const completed = live.filter((event) => event.__typename === "StepCompleted") as { usage: unknown }[];
    expect(completed.map((event) => event.usage)).toEqual([
      { ...perStep, credits: "0.0400" },
      { ...perStep, credits: "1.1200" },
    ]);
    const total = { calls: 2, inputTokensFresh: 1600, inputTokensCached: 400, outputTokens: 1000, totalTokens: 3000, credits: "1.1600", providerCostUsd: "0.00500000" };
    expect(live.at(-1)).toMatchObject({ __typename: "TurnCompleted", turnStatus: "COMPLETED", usage: total });
    const turn = await waitForTurn(client, turnId);
    expect(turn.usageTotals).toMatchObject({ calls: 2, credits: total.credits, providerCostUsd: total.providerCostUsd });

    const replayed = await events(turnId).done;
    expect(replayed.filter((event) => event.__typename === "StepCompleted").map((event) => (event as { usage: unknown }).usage)).toEqual(completed.map((event) => event.usage));
    expect(replayed.at(-1)).toMatchObject({ __typename: "TurnCompleted", usage: total });
  });

  test("an anonymous subscription is refused with UNAUTHENTICATED, not a server error", async () => {
    const turnId = "00000000-0000-0000-0000-000000000000";
    const response = await fetch(server.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ query: "subscription Anonymous($turnId: ID!) { turnEvents(turnId: $turnId) { __typename } }", variables: { turnId } }),
    });
    expect(response.status).toBe(200);
    const body = await response.text();
    expect(body).toContain('"code":"UNAUTHENTICATED"');
    expect(body).not.toContain("INTERNAL_SERVER_ERROR");
  });

  test("a client joining mid-turn gets the kept events so far, then live ones, once each; resuming after a sequence gets exactly what came after it", async () => {
    const council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"], ["bob", "QWEN"], ["cyd", "QWEN"]]);
    const [first, second] = council.agents;
    let releaseFirst!: () => void;
    let releaseSecond!: () => void;
    script.holds.set(first!.agentKey, new Promise((resolve) => (releaseFirst = resolve)));
    script.holds.set(second!.agentKey, new Promise((resolve) => (releaseSecond = resolve)));
    const turnId = await sendAccepted(client, council.sessionId, "Go");
    const early = events(turnId);
    releaseFirst();
    // The second agent's call is held: the turn is mid-way.
    await until(() => early.received.filter((event) => event.__typename === "StepStarted").length === 2);
    const seenSoFar = early.received.at(-1)!.sequence;
    const late = events(turnId);
    const resumed = events(turnId, seenSoFar);
    await until(() => late.received.filter((event) => event.__typename === "StepStarted").length === 2);
    releaseSecond();
    const [all, lateAll, resumedAll] = await Promise.all([early.done, late.done, resumed.done]);
    const keptEvents = (list: typeof all) => list.filter((event) => event.__typename !== "StepDelta");
    // A late joiner: every kept event, and the live deltas from when it joined; the numbers are the same.
    expect(keptEvents(lateAll)).toEqual(keptEvents(all));
    expect(new Set(lateAll.map((event) => event.sequence)).size).toBe(lateAll.length);
    for (const event of lateAll) expect(all).toContainEqual(event);
    // A resumed client: exactly the events after its last sequence (the second step's deltas were all live after it).
    expect(resumedAll).toEqual(all.filter((event) => event.sequence > seenSoFar));
    expect(names(all).at(-1)).toBe("TurnCompleted");
  });

  test("a finished turn's timeline is replayed from the database", async () => {
    const council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"]]);
    const turnId = await sendAccepted(client, council.sessionId, "Go");
    const live = await events(turnId).done;
    await waitForTurn(client, turnId);
    const replayed = await events(turnId).done;
    expect(names(replayed)).toEqual(["TurnStarted", "StepStarted", "StepCompleted", "TurnCompleted"]);
    expect(replayed).toEqual(live.filter((event) => event.__typename !== "StepDelta"));
    expect(replayed.map((event) => event.sequence)).toEqual([1, 2, 3, 4].map((ordinal) => ordinal * KEPT_STRIDE));
    // A client that already has the ending gets nothing more, and its stream completes.
    expect(await events(turnId, replayed.at(-1)!.sequence).done).toEqual([]);
    expect(await events(turnId, 99 * KEPT_STRIDE).done).toEqual([]);
  });

  test("a finished stream leaves nothing behind: no shutdown listener, no quiet poll, no topic listener, however many streams came and went", async () => {
    const closing = new AbortController();
    const pool = new pg.Pool({ connectionString: database.url, max: 2 });
    const topics = new EventTarget();
    const streams = new TurnStreams({ pubsub: createPubSub({ eventTarget: topics }), pool, endIfLapsed: async () => undefined, closing: closing.signal });
    try {
      // A user of its own: the file's user is near its rate limit.
      const owner = await createTestUser();
      const ownClient = graphqlClient(server.graphqlUrl, owner.token);
      const council = await createCouncil(ownClient, "ROUNDTABLE", [["ada", "QWEN"]]);
      const turnId = await sendAccepted(ownClient, council.sessionId, "Go");
      await waitForTurn(ownClient, turnId);
      for (let index = 0; index < 50; index++) {
        const stream = (await streams.open(turnId, 0, owner.id))!;
        const received = [];
        for await (const event of stream) received.push(event.type);
        expect(received.at(-1)).toBe("TurnCompleted");
      }
      const abandoned = (await streams.open(turnId, 0, owner.id))!;
      await abandoned.next();
      await abandoned.return(undefined);
      expect(getEventListeners(closing.signal, "abort")).toHaveLength(0);
      expect(streams.polledTurns).toBe(0);
      // Opened and let go before its first read (a client gone while the subscription was set up): nothing listens on the turn's topic.
      const unread = (await streams.open(turnId, 0, owner.id))!;
      expect(getEventListeners(topics, turnTopic(turnId))).toHaveLength(1);
      await unread.return(undefined);
      expect(getEventListeners(topics, turnTopic(turnId))).toHaveLength(0);
    } finally {
      await pool.end();
    }
  });

  test("more than ten clients following one turn do not make Node warn of a listener leak: each stream listens for the shutdown and on the turn's topic until it ends", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on("warning", onWarning);
    try {
      const owner = await createTestUser();
      const ownClient = graphqlClient(server.graphqlUrl, owner.token);
      const council = await createCouncil(ownClient, "ROUNDTABLE", [["ada", "QWEN"]]);
      let release!: () => void;
      script.hold = new Promise((resolve) => (release = resolve));
      const turnId = await sendAccepted(ownClient, council.sessionId, "Go");
      const followers = Array.from({ length: 12 }, () => subscribe(server.graphqlUrl, owner.token, TurnEventsDocument, { turnId, afterSequence: 0 }, pickEvent));
      // All twelve streams are open together before the turn goes on.
      await until(() => followers.every((follower) => follower.received.length > 0));
      release();
      script.hold = null;
      for (const follower of followers) expect((await follower.done).at(-1)?.__typename).toBe("TurnCompleted");
      // A warning is emitted on the next tick after the listener that crossed the limit.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((warning) => warning.startsWith("MaxListenersExceededWarning"))).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
  });

  test("a client that goes away mid-turn ends its stream on the server at once, and the turn runs on to its end", async () => {
    // Every open stream listens for the instance's shutdown until it ends (TurnStreams): what a stream left open would keep.
    const shutdownSignal = (server.runtime.turns as unknown as { closingStreams: AbortController }).closingStreams.signal;
    const openStreams = () => getEventListeners(shutdownSignal, "abort").length;
    const owner = await createTestUser();
    const ownClient = graphqlClient(server.graphqlUrl, owner.token);
    const council = await createCouncil(ownClient, "ROUNDTABLE", [["ada", "QWEN"]]);
    let release!: () => void;
    script.hold = new Promise((resolve) => (release = resolve));
    const before = openStreams();
    const turnId = await sendAccepted(ownClient, council.sessionId, "Go");
    try {
      const follower = subscribe(server.graphqlUrl, owner.token, TurnEventsDocument, { turnId, afterSequence: 0 }, pickEvent);
      await until(() => follower.received.length > 0);
      expect(openStreams()).toBe(before + 1);
      follower.close();
      await follower.done.catch(() => undefined);
      await until(() => openStreams() === before, 2_000);
    } finally {
      release();
      script.hold = null;
    }
    expect((await waitForTurn(ownClient, turnId)).status).toBe("COMPLETED");
  });

  test("a subscriber on another server instance follows the turn from the database until it ends", async () => {
    const other = await startTestServer(database.url, { OPENROUTER_API_KEY: "sk-or-test-fake", OPENROUTER_BASE_URL: fake.baseUrl });
    try {
      const council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"], ["bob", "QWEN"]]);
      let release!: () => void;
      script.holds.set(council.agents[1]!.agentKey, new Promise((resolve) => (release = resolve)));
      const turnId = await sendAccepted(client, council.sessionId, "Go");
      const remote = subscribe(other.graphqlUrl, user.token, TurnEventsDocument, { turnId, afterSequence: 0 }, pickEvent);
      await until(() => remote.received.filter((event) => event.__typename === "StepStarted").length === 2);
      release();
      const received = await remote.done;
      const keptNames = names(received).filter((name) => name !== "StepDelta");
      expect(keptNames).toEqual(["TurnStarted", "StepStarted", "StepCompleted", "StepStarted", "StepCompleted", "TurnCompleted"]);
      expect(received.filter((event) => event.__typename !== "StepDelta").map((event) => event.sequence)).toEqual([1, 2, 3, 4, 5, 6].map((ordinal) => ordinal * KEPT_STRIDE));
    } finally {
      await other.close();
    }
  });

  test("another user's turn is not found", async () => {
    const council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"]]);
    const turnId = await sendAccepted(client, council.sessionId, "Go");
    const stranger = await createTestUser();
    await expect(subscribe(server.graphqlUrl, stranger.token, TurnEventsDocument, { turnId, afterSequence: 0 }, pickEvent).done).rejects.toThrow(/not found/i);
  });
});

describe("rate limit", () => {
  test("sends beyond RATE_LIMIT_TURNS_PER_MINUTE are RATE_LIMITED with a retry-after, and write nothing", async () => {
    const other = await createTestUser();
    const otherClient = graphqlClient(server.graphqlUrl, other.token);
    const councils = await Promise.all(Array.from({ length: 7 }, () => createCouncil(otherClient, "ROUNDTABLE", [["ada", "QWEN"]])));
    const results = [];
    for (const council of councils) results.push(await send(otherClient, council.sessionId, "Go"));
    expect(results.slice(0, 6).map((result) => result.__typename)).toEqual(Array(6).fill("SendMessageSuccess"));
    expect(results[6]).toMatchObject({ __typename: "RateLimitedError", code: "RATE_LIMITED" });
    const retryAfter = (results[6] as { retryAfterSeconds: number }).retryAfterSeconds;
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await server.runtime.prisma.turn.count({ where: { sessionId: councils[6]!.sessionId } })).toBe(0);
  });
});
