// Turn control (SPEC 16) against a loopback provider, a real PostgreSQL and
// two server instances sharing a Redis: scripted orchestrator managers that
// stop, always continue, repeat themselves, answer garbage or run out of
// credits each end with their stop reason within the room's limits, with one
// ledger row per provider call; cancelTurn from the other instance stops a
// streaming agent within a second (through Redis, or the database while Redis
// is away); a turn past its time limit stops with TIMEOUT; a cancel or a time
// limit that lands while a step's result commits, with the next step started
// in the same statement, leaves that step failed and nothing held or running.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { CancelTurnDocument, GrantCreditsDocument, RoomTurnLimitsDocument, SetRoomTurnLimitsDocument, WalletDocument } from "./generated/graphql.ts";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { dataOf, graphqlClient, type GraphQLClient } from "./support/graphqlClient.ts";
import { startFakeOpenRouter, type FakeCall, type FakeOpenRouter } from "./support/fakeOpenRouter.ts";
import { agentKeyOf, callPurpose, councilHandler, newScript, REFERENCE_USAGE, type CouncilScript } from "./support/councilProvider.ts";
import { startTestRedis, type TestRedis } from "./support/redisServer.ts";
import { streamTurnEvents, type StreamedEvent } from "./support/eventClient.ts";
import { createCouncil, sendAccepted, waitForTurn, type Council } from "./fixtures/turns.ts";
import { signTestToken } from "./fixtures/users.ts";
import { Prisma } from "../src/generated/prisma/client.ts";

let database: TestDatabase;
let sql: pg.Pool;
let redis: TestRedis;
let env: Record<string, string>;
let fake: FakeOpenRouter;
let a: TestServer;
let b: TestServer;
let script: CouncilScript;
const ownerId = randomUUID();
let owner: GraphQLClient;

async function newUser() {
  const id = randomUUID();
  const token = await signTestToken({ sub: id });
  return { id, token, on: (server: TestServer) => graphqlClient(server.graphqlUrl, token) };
}
type User = Awaited<ReturnType<typeof newUser>>;

beforeAll(async () => {
  database = await createMigratedDatabase("turncontrol");
  sql = new pg.Pool({ connectionString: database.url, max: 4 });
  sql.on("error", () => undefined);
  await sql.query("INSERT INTO users (id, admin_role) VALUES ($1, 'owner')", [ownerId]);
  redis = await startTestRedis();
  fake = await startFakeOpenRouter(() => ({ kind: "hang" }));
  env = {
    OPENROUTER_API_KEY: "sk-or-test-fake",
    OPENROUTER_BASE_URL: fake.baseUrl,
    OPENROUTER_MAX_RETRIES: "0",
    CREDIT_ENFORCEMENT: "enforce",
    REDIS_URL: redis.url,
    RATE_LIMIT_TURNS_PER_MINUTE: "1000",
    RATE_LIMIT_TURNS_PER_HOUR: "10000",
  };
  [a, b] = await Promise.all([startTestServer(database.url, env), startTestServer(database.url, env)]);
  owner = graphqlClient(a.graphqlUrl, await signTestToken({ sub: ownerId }));
}, 120_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  await fake?.close();
  await redis?.stop();
  await sql?.end();
  await database?.drop();
});

beforeEach(() => {
  script = newScript();
  fake.setHandler(councilHandler(script));
});

const continueWith = (steps: { agentKey: string; instruction: string }[]) => JSON.stringify({ decision: "continue", steps, rationale: "more" });

async function setLimits(user: User, council: Council, limits: Record<string, number>) {
  const result = dataOf(await user.on(a)(SetRoomTurnLimitsDocument, { input: { roomId: council.roomId!, ...limits } })).setRoomTurnLimits;
  if (result.__typename !== "SetRoomTurnLimitsSuccess") throw new Error(JSON.stringify(result));
  return result.room.turnLimits;
}

async function ledger(turnId: string) {
  const { rows } = await sql.query<{ call_kind: string; status: string; output_tokens: number; credits: string }>(
    "SELECT call_kind, status, output_tokens, credits_burned::text AS credits FROM llm_call_events WHERE turn_id = $1 ORDER BY created_at, id",
    [turnId],
  );
  return rows;
}

/** The turn's events as a client replays them after its end (kept events only). */
async function replay(user: User, turnId: string): Promise<StreamedEvent[]> {
  return (await streamTurnEvents(b.graphqlUrl, user.token, turnId).done).events;
}

/** Runs an orchestrator turn to its end; returns it, its provider calls and its ledger rows. */
async function orchestrate(user: User, council: Council, message = "Plan the launch") {
  const from = fake.calls.length;
  const turn = await waitForTurn(user.on(a), await sendAccepted(user.on(a), council.sessionId, message));
  return { turn, calls: fake.calls.slice(from), rows: await ledger(turn.id) };
}

const kinds = (turn: { steps: { kind: string; agentKey: string | null; round: number }[] }) => turn.steps.map((step) => [step.round, step.kind, step.agentKey]);

describe("orchestrator rounds", () => {
  test("a manager that stops after round 1: DONE; routing, the agents, the decision and the synthesis each metered once", async () => {
    const user = await newUser();
    const council = await createCouncil(user.on(a), "ORCHESTRATOR", [["ada", "QWEN"], ["bob", "QWEN"]]);
    const [ada, bob] = council.agents.map((agent) => agent.agentKey);
    const { turn, calls, rows } = await orchestrate(user, council);
    expect(turn).toMatchObject({ status: "COMPLETED", stopReason: "DONE" });
    expect(kinds(turn)).toEqual([[1, "MANAGER_ROUTE", null], [1, "AGENT", ada], [1, "AGENT", bob], [1, "MANAGER_CONTINUE", null], [1, "MANAGER_SYNTHESIS", null]]);
    expect(turn.steps[3]!.roundDecision).toEqual({ __typename: "StopRounds", rationale: "enough" });
    expect(rows.map((row) => row.call_kind)).toEqual(["manager_route", "agent", "agent", "manager_continue", "synthesis"]);
    expect(rows).toHaveLength(calls.length);
    // The decision call saw both answers and the turn's limits.
    const decision = calls.find((call) => callPurpose(call) === "round")!;
    expect(decision.body.messages[1]!.content).toContain(`@${ada}: Answer from ${ada}.`);
    expect(decision.body.messages[0]!.content).toContain("Round 1 of at most 3");
    const events = await replay(user, turn.id);
    expect(events.map((event) => event.__typename).filter((name) => name !== "StepDelta")).toEqual([
      "TurnStarted", "RoundStarted", "StepStarted", "StepCompleted", "StepStarted", "StepCompleted", "StepStarted", "StepCompleted", "StepStarted", "StepCompleted",
      "RoundCompleted", "StepStarted", "StepCompleted", "TurnCompleted",
    ]);
    const roundCompleted = events.find((event) => event.__typename === "RoundCompleted") as Extract<StreamedEvent, { __typename: "RoundCompleted" }>;
    // Usage so far: routing, two agents and the decision, at the reference usage (deepseek manager 0.08, qwen agents 0.04).
    expect(roundCompleted).toMatchObject({ round: 1, usage: { calls: 4, credits: "0.2400" } });
    expect(events.at(-1)).toMatchObject({ __typename: "TurnCompleted", stopReason: "DONE" });
  });

  test("a manager that always continues stops at maxRounds (MAX_ROUNDS), never asked after the last round; the synthesis runs", async () => {
    const user = await newUser();
    const council = await createCouncil(user.on(a), "ORCHESTRATOR", [["ada", "QWEN"], ["bob", "QWEN"]]);
    const [ada, bob] = council.agents.map((agent) => agent.agentKey);
    script.rounds.push(continueWith([{ agentKey: ada!, instruction: "deeper" }]), continueWith([{ agentKey: bob!, instruction: "deeper still" }]), continueWith([{ agentKey: ada!, instruction: "again" }]));
    const { turn, calls, rows } = await orchestrate(user, council);
    expect(turn).toMatchObject({ status: "COMPLETED", stopReason: "MAX_ROUNDS" });
    expect(kinds(turn)).toEqual([
      [1, "MANAGER_ROUTE", null], [1, "AGENT", ada], [1, "AGENT", bob], [1, "MANAGER_CONTINUE", null],
      [2, "AGENT", ada], [2, "MANAGER_CONTINUE", null],
      [3, "AGENT", bob], [3, "MANAGER_SYNTHESIS", null],
    ]);
    expect(turn.steps[3]!.roundDecision).toMatchObject({ __typename: "ContinueRounds", steps: [{ agent: { agentKey: ada }, instruction: "deeper" }] });
    // The third decision was never asked for.
    expect(script.rounds).toHaveLength(1);
    expect(rows.map((row) => row.call_kind)).toEqual(["manager_route", "agent", "agent", "manager_continue", "agent", "manager_continue", "agent", "synthesis"]);
    expect(rows).toHaveLength(calls.length);
    const rounds = (await replay(user, turn.id)).filter((event) => event.__typename === "RoundStarted" || event.__typename === "RoundCompleted");
    expect(rounds.map((event) => `${event.__typename} ${(event as { round: number }).round}`)).toEqual([
      "RoundStarted 1", "RoundCompleted 1", "RoundStarted 2", "RoundCompleted 2", "RoundStarted 3", "RoundCompleted 3",
    ]);
  });

  test("the room's limits: a next round past maxInvocations or maxPerAgent ends with MAX_INVOCATIONS before it starts", async () => {
    const user = await newUser();
    const council = await createCouncil(user.on(a), "ORCHESTRATOR", [["ada", "QWEN"], ["bob", "QWEN"]]);
    const [ada, bob] = council.agents.map((agent) => agent.agentKey);
    expect(await setLimits(user, council, { maxInvocations: 3 })).toEqual({ maxRounds: 3, maxInvocations: 3, maxPerAgent: 3, timeLimitSeconds: 600 });
    script.rounds.push(continueWith([{ agentKey: ada!, instruction: "x" }, { agentKey: bob!, instruction: "y" }]));
    const total = await orchestrate(user, council);
    expect(total.turn).toMatchObject({ status: "COMPLETED", stopReason: "MAX_INVOCATIONS" });
    expect(kinds(total.turn).map(([, kind]) => kind)).toEqual(["MANAGER_ROUTE", "AGENT", "AGENT", "MANAGER_CONTINUE", "MANAGER_SYNTHESIS"]);
    expect(total.turn.error).toBe("The next round would pass 3 agent steps.");

    await setLimits(user, council, { maxInvocations: 12, maxPerAgent: 1 });
    script.rounds.push(continueWith([{ agentKey: ada!, instruction: "again" }]));
    const perAgent = await orchestrate(user, council);
    expect(perAgent.turn).toMatchObject({ status: "COMPLETED", stopReason: "MAX_INVOCATIONS", error: `${ada} would run more than 1 times.` });
    expect(perAgent.rows).toHaveLength(perAgent.calls.length);

    // A routing plan over the room's caps is invalid, as any other: re-asked once, then the turn fails.
    script.routing.push(...Array.from({ length: 2 }, () => JSON.stringify({ steps: [{ agentKey: ada, instruction: "1" }, { agentKey: ada, instruction: "2" }], rationale: "twice" })));
    const overPlan = await orchestrate(user, council);
    expect(overPlan.turn).toMatchObject({ status: "FAILED", stopReason: "ERROR" });
    expect(overPlan.rows.map((row) => row.call_kind)).toEqual(["manager_route", "repair"]);
  });

  test("a manager that repeats the same selection after a round with nothing new ends with LOOP; the synthesis runs", async () => {
    const user = await newUser();
    const council = await createCouncil(user.on(a), "ORCHESTRATOR", [["ada", "QWEN"], ["bob", "QWEN"]]);
    const ada = council.agents[0]!.agentKey;
    const same = [{ agentKey: ada, instruction: "think" }];
    script.routing.push(JSON.stringify({ steps: same, rationale: "ada" }));
    // Round 2 repeats round 1 and ada answers as before: nothing new, and the manager asks for the same again.
    script.rounds.push(continueWith(same), continueWith(same));
    const { turn, calls, rows } = await orchestrate(user, council);
    expect(turn).toMatchObject({ status: "COMPLETED", stopReason: "LOOP" });
    expect(kinds(turn)).toEqual([[1, "MANAGER_ROUTE", null], [1, "AGENT", ada], [1, "MANAGER_CONTINUE", null], [2, "AGENT", ada], [2, "MANAGER_CONTINUE", null], [2, "MANAGER_SYNTHESIS", null]]);
    expect(turn.error).toBe("The manager chose the same agents again after a round with nothing new.");
    expect(rows).toHaveLength(calls.length);
  });

  test("a garbage round decision stops the rounds with ERROR (never guessed): PARTIAL, the synthesis still answers", async () => {
    const user = await newUser();
    const council = await createCouncil(user.on(a), "ORCHESTRATOR", [["ada", "QWEN"], ["bob", "QWEN"]]);
    for (const garbage of ["Let's continue with ada.", JSON.stringify({ decision: "continue", steps: [], rationale: "?" }), JSON.stringify({ decision: "stop", steps: [{ agentKey: "mallory", instruction: "x" }], rationale: "r" })]) {
      script.rounds.push(garbage);
      const { turn, calls, rows } = await orchestrate(user, council);
      expect(turn).toMatchObject({ status: "PARTIAL", stopReason: "ERROR" });
      expect(kinds(turn).map(([, kind]) => kind)).toEqual(["MANAGER_ROUTE", "AGENT", "AGENT", "MANAGER_CONTINUE", "MANAGER_SYNTHESIS"]);
      const decision = turn.steps[3]!;
      expect(decision.status).toBe("FAILED");
      expect(decision.roundDecision).toMatchObject({ __typename: "RoundDecisionRejected", issues: expect.arrayContaining([expect.any(String)]) });
      expect(turn.error).toContain("The manager's round decision was not valid; the rounds stopped.");
      expect(rows.map((row) => row.call_kind)).toEqual(["manager_route", "agent", "agent", "manager_continue", "synthesis"]);
      expect(rows).toHaveLength(calls.length);
    }
  });

  test("a turn that runs out of credits mid-round stops before the next call with BUDGET; nothing is spent past the wallet", async () => {
    const user = await newUser();
    // bob's call, at its least output (MIN_OUTPUT_TOKENS on the premium model), needs well over 0.3 credits.
    const council = await createCouncil(user.on(a), "ORCHESTRATOR", [["ada", "QWEN"], ["bob", "PREMIUM"]]);
    const [ada] = council.agents.map((agent) => agent.agentKey);
    await user.on(a)(WalletDocument);
    let release!: () => void;
    script.holds.set(ada!, new Promise((resolve) => (release = resolve)));
    const from = fake.calls.length;
    const turnId = await sendAccepted(user.on(a), council.sessionId, "Plan the launch");
    // While ada's call is held and in flight, the wallet is brought down to 0.2 credits available (ada's
    // settlement gives back what her hold did not spend, about 0.07).
    await expect.poll(() => fake.calls.slice(from).some((call) => agentKeyOf(call) === ada)).toBe(true);
    const { rows: wallet } = await sql.query("SELECT credit_available(w)::text AS available FROM credit_wallets w WHERE user_id = $1", [user.id]);
    const amount = new Prisma.Decimal("0.2").sub(wallet[0].available).toFixed(4);
    const adjusted = dataOf(await owner(GrantCreditsDocument, { input: { userId: user.id, kind: "ADJUSTMENT", amount, idempotencyKey: randomUUID() } })).grantCredits;
    expect(adjusted.__typename).toBe("GrantCreditsSuccess");
    release();
    const turn = await waitForTurn(user.on(a), turnId);
    expect(turn).toMatchObject({ status: "PARTIAL", stopReason: "BUDGET" });
    expect(kinds(turn).map(([, kind, key]) => [kind, key])).toEqual([["MANAGER_ROUTE", null], ["AGENT", ada], ["AGENT", council.agents[1]!.agentKey]]);
    expect(turn.steps[2]).toMatchObject({ status: "FAILED", error: expect.stringMatching(/^Stopped before this call: not enough credits/) });
    const rows = await ledger(turnId);
    expect(rows.map((row) => row.call_kind)).toEqual(["manager_route", "agent"]);
    expect(fake.calls.slice(from)).toHaveLength(2);
    const { rows: after } = await sql.query("SELECT held::text, credit_available(w)::text AS available FROM credit_wallets w WHERE user_id = $1", [user.id]);
    expect(after[0].held).toBe("0.0000");
    expect(new Prisma.Decimal(after[0].available).gte(0)).toBe(true);
  });
});

describe("room turn limits", () => {
  test("only the room's owner sets them, within their ranges; a bad value changes nothing", async () => {
    const user = await newUser();
    const council = await createCouncil(user.on(a), "ORCHESTRATOR", [["ada", "QWEN"]]);
    const bad = dataOf(await user.on(a)(SetRoomTurnLimitsDocument, { input: { roomId: council.roomId!, maxRounds: 0, timeLimitSeconds: 5 } })).setRoomTurnLimits;
    expect(bad).toMatchObject({ __typename: "ValidationError", issues: [{ path: ["maxRounds"], message: "must be at least 1" }, { path: ["timeLimitSeconds"], message: "must be at least 10" }] });
    const stranger = dataOf(await (await newUser()).on(a)(SetRoomTurnLimitsDocument, { input: { roomId: council.roomId!, maxRounds: 5 } })).setRoomTurnLimits;
    expect(stranger).toMatchObject({ __typename: "NotFoundError", code: "NOT_FOUND" });
    expect(await setLimits(user, council, { maxRounds: 5 })).toEqual({ maxRounds: 5, maxInvocations: 12, maxPerAgent: 3, timeLimitSeconds: 600 });
    const listed = dataOf(await user.on(b)(RoomTurnLimitsDocument, { first: 5 })).rooms.edges.map((edge) => edge.node.turnLimits);
    expect(listed).toEqual([{ maxRounds: 5, maxInvocations: 12, maxPerAgent: 3, timeLimitSeconds: 600 }]);
  });
});

describe("cancelTurn", () => {
  const LONG_ANSWER = "word ".repeat(400);

  /** Agents answer slowly (a 12-character piece every 50 ms), so a turn can be stopped mid-stream. */
  function slowAgents() {
    const council = councilHandler(script);
    fake.setHandler((call: FakeCall) => (callPurpose(call) === "agent" ? { kind: "stream", content: LONG_ANSWER, usage: REFERENCE_USAGE, chunkDelayMs: 50 } : council(call)));
  }

  /** Cancels from B once the agent's answer is streaming on A. */
  async function cancelWhileStreaming(user: User, council: Council) {
    slowAgents();
    const from = fake.calls.length;
    const turnId = await sendAccepted(user.on(a), council.sessionId, "Go");
    const stream = streamTurnEvents(b.graphqlUrl, user.token, turnId);
    await expect.poll(() => fake.calls.length > from && stream.events.some((event) => event.__typename === "StepStarted"), { timeout: 10_000 }).toBe(true);
    // A few pieces of the answer are out (they reach B live, or not at all while Redis is away).
    await new Promise((resolve) => setTimeout(resolve, 300));
    const cancelled = dataOf(await user.on(b)(CancelTurnDocument, { turnId })).cancelTurn;
    const requestedAt = performance.now();
    // When the owner instance ended the turn, as the database says.
    while ((await sql.query("SELECT status::text FROM turns WHERE id = $1", [turnId])).rows[0].status === "running") await new Promise((resolve) => setTimeout(resolve, 20));
    const endedWithin = performance.now() - requestedAt;
    const { events } = await stream.done;
    const streamEndedWithin = performance.now() - requestedAt;
    return { turnId, from, cancelled, events, endedWithin, streamEndedWithin };
  }

  test("from the other instance while an agent streams: the turn ends CANCELLED within a second, the stream with it, the aborted call is metered, nothing runs after, the session goes on", async () => {
    const user = await newUser();
    const council = await createCouncil(user.on(a), "ROUNDTABLE", [["ada", "QWEN"], ["bob", "QWEN"]]);
    const { turnId, from, cancelled, events, endedWithin, streamEndedWithin } = await cancelWhileStreaming(user, council);
    expect(cancelled).toMatchObject({ __typename: "CancelTurnSuccess", cancelled: true, turn: { id: turnId, cancelRequestedAt: expect.any(String) } });
    expect(endedWithin).toBeLessThan(1000);
    expect(streamEndedWithin).toBeLessThan(1000);
    expect(events.at(-1)).toMatchObject({ __typename: "TurnFailed", stopReason: "CANCELLED", turnError: "Cancelled by its owner." });
    const turn = await waitForTurn(user.on(a), turnId);
    expect(turn).toMatchObject({ status: "FAILED", stopReason: "CANCELLED" });
    expect(turn.steps.map((step) => [step.agentKey, step.status, step.error])).toEqual([[council.agents[0]!.agentKey, "FAILED", "Cancelled by its owner."]]);
    // ada's call was aborted and is metered with what it used; bob's was never made.
    expect(fake.calls.slice(from)).toHaveLength(1);
    const rows = await ledger(turnId);
    expect(rows).toEqual([{ call_kind: "agent", status: "cancelled", output_tokens: expect.any(Number), credits: expect.any(String) }]);
    expect(rows[0]!.output_tokens).toBeGreaterThan(0);
    expect(new Prisma.Decimal(rows[0]!.credits).gt(0)).toBe(true);
    const { rows: wallet } = await sql.query("SELECT held::text FROM credit_wallets WHERE user_id = $1", [user.id]);
    expect(wallet[0].held).toBe("0.0000");

    script = newScript();
    fake.setHandler(councilHandler(script));
    const next = await waitForTurn(user.on(a), await sendAccepted(user.on(a), council.sessionId, "Again, quickly"));
    expect(next).toMatchObject({ status: "COMPLETED", stopReason: "DONE" });

    // An ended turn: a typed no-op. Someone else's: NOT_FOUND.
    expect(dataOf(await user.on(a)(CancelTurnDocument, { turnId: next.id })).cancelTurn).toMatchObject({ __typename: "CancelTurnSuccess", cancelled: false, turn: { status: "COMPLETED", stopReason: "DONE", cancelRequestedAt: null } });
    expect(dataOf(await (await newUser()).on(b)(CancelTurnDocument, { turnId })).cancelTurn).toMatchObject({ __typename: "NotFoundError", code: "NOT_FOUND" });
    expect(dataOf(await user.on(b)(CancelTurnDocument, { turnId: "not-a-turn" })).cancelTurn).toMatchObject({ __typename: "NotFoundError" });
  });

  test("an orchestrator turn cancelled mid-round: no synthesis, PARTIAL when an agent had answered", async () => {
    const user = await newUser();
    const council = await createCouncil(user.on(a), "ORCHESTRATOR", [["ada", "QWEN"], ["bob", "QWEN"]]);
    const [ada, bob] = council.agents.map((agent) => agent.agentKey);
    const council2 = councilHandler(script);
    // ada answers at once, bob slowly.
    fake.setHandler((call: FakeCall) => (agentKeyOf(call) === bob ? { kind: "stream", content: LONG_ANSWER, usage: REFERENCE_USAGE, chunkDelayMs: 50 } : council2(call)));
    const turnId = await sendAccepted(user.on(a), council.sessionId, "Go");
    const stream = streamTurnEvents(a.graphqlUrl, user.token, turnId);
    await expect.poll(() => stream.events.some((event) => event.__typename === "StepDelta" && event.stepId === stream.events.filter((e) => e.__typename === "StepStarted").at(-1)?.stepId && (stream.events.filter((e) => e.__typename === "StepStarted").at(-1) as { agentKey: string }).agentKey === bob), { timeout: 10_000 }).toBe(true);
    expect(dataOf(await user.on(b)(CancelTurnDocument, { turnId })).cancelTurn).toMatchObject({ cancelled: true });
    const { events } = await stream.done;
    expect(events.at(-1)).toMatchObject({ __typename: "TurnCompleted", turnStatus: "PARTIAL", stopReason: "CANCELLED" });
    const turn = await waitForTurn(user.on(a), turnId);
    expect(kinds(turn).map(([, kind, key]) => [kind, key])).toEqual([["MANAGER_ROUTE", null], ["AGENT", ada], ["AGENT", bob]]);
    expect((await ledger(turnId)).map((row) => [row.call_kind, row.status])).toEqual([["manager_route", "success"], ["agent", "success"], ["agent", "cancelled"]]);
  });

  /**
   * A roundtable of ada, bob and cyd: the statement that records ada's result
   * also starts bob's step and holds his call. The test locks the user's
   * wallet, so that statement waits on it, and runs `whileCommitting` before
   * letting it commit. bob's call, if it is made, hangs until the turn's halt
   * aborts it. Returns the ended turn, the agents its provider calls were for,
   * and its ledger rows.
   */
  async function haltWhileCommitting(user: User, council: Council, whileCommitting: (turnId: string) => Promise<void>) {
    const [ada, bob] = council.agents.map((agent) => agent.agentKey);
    let answerAda!: () => void;
    const adaMayAnswer = new Promise<void>((resolve) => (answerAda = resolve));
    const agents = councilHandler(script);
    fake.setHandler(async (call: FakeCall) => {
      if (agentKeyOf(call) === ada) await adaMayAnswer;
      if (agentKeyOf(call) === bob) return { kind: "hang" };
      return agents(call);
    });
    const from = fake.calls.length;
    const turnId = await sendAccepted(user.on(a), council.sessionId, "Go");
    await expect.poll(() => fake.calls.length > from, { timeout: 10_000 }).toBe(true);
    const locker = await sql.connect();
    let locked = false;
    try {
      await locker.query("BEGIN");
      locked = true;
      await locker.query("SELECT 1 FROM credit_wallets WHERE user_id = $1 FOR UPDATE", [user.id]);
      answerAda();
      const waiting = () => sql.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO llm_call_events%'");
      await expect.poll(async () => (await waiting()).rows[0].n, { timeout: 10_000 }).toBe(1);
      await whileCommitting(turnId);
      await locker.query("COMMIT");
      locked = false;
    } finally {
      // A failed expectation must not leave the wallet locked for the tests after it.
      if (locked) await locker.query("ROLLBACK").catch(() => undefined);
      locker.release();
    }
    const turn = await waitForTurn(user.on(a), turnId);
    const { rows: left } = await sql.query(
      "SELECT w.held::text AS wallet, (SELECT count(*)::int FROM credit_holds h WHERE h.turn_id = $2 AND h.released_at IS NULL) AS open, (SELECT count(*)::int FROM turn_steps s WHERE s.turn_id = $2 AND s.status = 'running') AS running FROM credit_wallets w WHERE w.user_id = $1",
      [user.id, turnId],
    );
    // Nothing stays held or running, whichever way the halt went.
    expect(left).toEqual([{ wallet: "0.0000", open: 0, running: 0 }]);
    return { turn, calls: fake.calls.slice(from).map((call) => agentKeyOf(call)), rows: (await ledger(turnId)).map((row) => [row.call_kind, row.status]) };
  }

  test("a cancel that lands while a step's result commits, the next step started in the same statement: that step's call is made and aborted (metered) or not made; cyd never runs", async () => {
    const user = await newUser();
    const council = await createCouncil(user.on(a), "ROUNDTABLE", [["ada", "QWEN"], ["bob", "QWEN"], ["cyd", "QWEN"]]);
    const [ada, bob, cyd] = council.agents.map((agent) => agent.agentKey);
    const cancel = (turnId: string) => user.on(a)(CancelTurnDocument, { turnId });
    let cancelling: ReturnType<typeof cancel> | undefined;
    const { turn, calls, rows } = await haltWhileCommitting(user, council, async (turnId) => {
      // The cancel's write on the turn waits behind that statement, which commits first once the wallet is free.
      cancelling = cancel(turnId);
      await new Promise((resolve) => setTimeout(resolve, 200));
    });
    expect(dataOf(await cancelling!).cancelTurn).toMatchObject({ __typename: "CancelTurnSuccess", cancelled: true });
    expect(turn).toMatchObject({ status: "PARTIAL", stopReason: "CANCELLED" });
    expect(turn.steps.map((step) => [step.agentKey, step.status, step.error])).toEqual([[ada, "COMPLETED", null], [bob, "FAILED", "Cancelled by its owner."]]);
    expect(calls.filter((key) => key === ada)).toHaveLength(1);
    expect(calls).not.toContain(cyd);
    expect(rows).toEqual(calls.includes(bob!) ? [["agent", "success"], ["agent", "cancelled"]] : [["agent", "success"]]);
  });

  test("a time limit that passes while a step's result commits, the next step started in the same statement: that step fails before its call (TIMEOUT), no call made", async () => {
    const user = await newUser();
    const council = await createCouncil(user.on(a), "ROUNDTABLE", [["ada", "QWEN"], ["bob", "QWEN"], ["cyd", "QWEN"]]);
    await setLimits(user, council, { timeLimitSeconds: 10 });
    const [ada, bob] = council.agents.map((agent) => agent.agentKey);
    const { turn, calls, rows } = await haltWhileCommitting(user, council, async (turnId) => {
      // The turn's timer halts it while the statement that started bob's step still waits to commit.
      const { rows: started } = await sql.query("SELECT extract(epoch FROM started_at) * 1000 AS at FROM turns WHERE id = $1", [turnId]);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(started[0].at) + 11_000 - Date.now())));
    });
    expect(turn).toMatchObject({ status: "PARTIAL", stopReason: "TIMEOUT" });
    expect(turn.steps.map((step) => [step.agentKey, step.status, step.error])).toEqual([[ada, "COMPLETED", null], [bob, "FAILED", "Stopped: the turn reached its time limit of 10 s."]]);
    expect(calls).toEqual([ada]);
    expect(rows).toEqual([["agent", "success"]]);
  });

  test("with Redis away the owner instance reads the request from the database: still ended within a second", async () => {
    const user = await newUser();
    const council = await createCouncil(user.on(a), "ROUNDTABLE", [["ada", "QWEN"]]);
    await redis.stop();
    try {
      const { events, endedWithin, turnId } = await cancelWhileStreaming(user, council);
      expect(events.at(-1)).toMatchObject({ __typename: "TurnFailed", stopReason: "CANCELLED" });
      expect(endedWithin).toBeLessThan(1000);
      expect((await ledger(turnId)).map((row) => row.status)).toEqual(["cancelled"]);
    } finally {
      await redis.start();
    }
  });
});

describe("cancel requests that miss the live channel", () => {
  test("a request written on the turn while the owner's channel is up but no message reached it: the owner's lease renewal stops the turn", async () => {
    // Renewals every second (a third of the lease); the owner shares Redis, so its database poll stays off.
    const owner3 = await startTestServer(database.url, { ...env, TURN_LEASE_MS: "3000" });
    try {
      const user = await newUser();
      const council = await createCouncil(user.on(owner3), "ROUNDTABLE", [["ada", "QWEN"]]);
      const agents = councilHandler(script);
      fake.setHandler((call: FakeCall) => (callPurpose(call) === "agent" ? { kind: "stream", content: "word ".repeat(400), usage: REFERENCE_USAGE, chunkDelayMs: 50 } : agents(call)));
      const from = fake.calls.length;
      const turnId = await sendAccepted(user.on(owner3), council.sessionId, "Go");
      await expect.poll(() => fake.calls.length > from, { timeout: 10_000 }).toBe(true);
      // What cancelTurn on an instance whose Redis was away leaves: the request on the turn, no message.
      await sql.query("UPDATE turns SET cancel_requested_at = now() WHERE id = $1", [turnId]);
      const requestedAt = performance.now();
      const turn = await waitForTurn(user.on(owner3), turnId);
      expect(turn).toMatchObject({ status: "FAILED", stopReason: "CANCELLED" });
      // Well before the 8 s answer would have finished.
      expect(performance.now() - requestedAt).toBeLessThan(2500);
      expect((await ledger(turnId)).map((row) => row.status)).toEqual(["cancelled"]);
    } finally {
      await owner3.close();
    }
  });
});

describe("the room's time limit", () => {
  test("a turn still running past it stops with TIMEOUT: the call in flight is stopped and metered", async () => {
    const user = await newUser();
    const council = await createCouncil(user.on(a), "ROUNDTABLE", [["ada", "QWEN"], ["bob", "QWEN"]]);
    await setLimits(user, council, { timeLimitSeconds: 10 });
    fake.setHandler((call: FakeCall) => (callPurpose(call) === "agent" ? { kind: "stream", content: "slow ".repeat(2000), usage: REFERENCE_USAGE, chunkDelayMs: 50 } : { kind: "status", status: 500 }));
    const started = Date.now();
    const turn = await waitForTurn(user.on(a), await sendAccepted(user.on(a), council.sessionId, "Take your time"), 30_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(9_500);
    expect(turn).toMatchObject({ status: "FAILED", stopReason: "TIMEOUT", error: "Stopped: the turn reached its time limit of 10 s." });
    expect(turn.steps).toHaveLength(1);
    expect((await ledger(turn.id)).map((row) => row.status)).toEqual(["cancelled"]);
  }, 40_000);
});

test("every turn of this file ended with a stop reason", async () => {
  const { rows } = await sql.query("SELECT count(*)::int AS n FROM turns WHERE status <> 'running' AND stop_reason IS NULL");
  expect(rows[0].n).toBe(0);
});
