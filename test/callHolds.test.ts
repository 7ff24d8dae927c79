// Credits people can spend (SPEC 14), against two server instances on one
// database under CREDIT_ENFORCEMENT=enforce, with a provider on loopback that
// answers and reports usage as a real one would: each call holds its provable
// bound just before it starts; a short balance lowers a call's max_tokens down
// to MIN_OUTPUT_TOKENS and then stops the turn with BUDGET; nothing is ever
// spent beyond what was held; a report above the bound is kept, flagged,
// counted and listed.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { CallsAboveBoundDocument, GrantCreditsDocument, WalletDocument } from "./generated/graphql.ts";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { dataOf, graphqlClient, type GraphQLClient } from "./support/graphqlClient.ts";
import { startFakeOpenRouter, type FakeCall, type FakeOpenRouter, type FakeReply } from "./support/fakeOpenRouter.ts";
import { callPurpose } from "./support/councilProvider.ts";
import { promptTokensOf, proseHandler } from "./support/proseProvider.ts";
import { streamTurnEvents } from "./support/eventClient.ts";
import { createCouncil, createSession, send, sendAccepted, waitForTurn } from "./fixtures/turns.ts";
import { signTestToken } from "./fixtures/users.ts";
import { boundOfBody, invariantViolations, sampleDecimal } from "./fixtures/credits.ts";
import { Prisma } from "../src/generated/prisma/client.ts";

const Decimal = Prisma.Decimal;
const MIN_OUTPUT_TOKENS = 256;

let database: TestDatabase;
let sql: pg.Pool;
let fake: FakeOpenRouter;
let a: TestServer;
let b: TestServer;
const ownerId = randomUUID();
let owner: GraphQLClient;

/** Agent answers of this many tokens unless a test says otherwise. */
let answerTokens = (_call: FakeCall) => 300;

async function newUser() {
  const id = randomUUID();
  const token = await signTestToken({ sub: id });
  return { id, token, on: (server: TestServer) => graphqlClient(server.graphqlUrl, token) };
}

/** Sets the user's available credits to `available` (their wallet opened at 495). */
async function setAvailable(user: Awaited<ReturnType<typeof newUser>>, available: string) {
  await user.on(a)(WalletDocument);
  const amount = new Decimal(available).sub(495).toFixed(4);
  const result = dataOf(await owner(GrantCreditsDocument, { input: { userId: user.id, kind: "ADJUSTMENT", amount, idempotencyKey: randomUUID() } })).grantCredits;
  if (result.__typename !== "GrantCreditsSuccess") throw new Error(JSON.stringify(result));
}

async function walletOf(userId: string) {
  const { rows } = await sql.query("SELECT held::text, credit_available(w)::text AS available FROM credit_wallets w WHERE user_id = $1", [userId]);
  return rows[0] as { held: string; available: string };
}

/** The calls the provider received since `from`, for the user's turn's session. */
function callsSince(from: number): FakeCall[] {
  return fake.calls.slice(from);
}

beforeAll(async () => {
  database = await createMigratedDatabase("callholds");
  sql = new pg.Pool({ connectionString: database.url, max: 4 });
  sql.on("error", () => undefined);
  await sql.query("INSERT INTO users (id, admin_role) VALUES ($1, 'owner')", [ownerId]);
  fake = await startFakeOpenRouter(proseHandler({ answerTokens: (call) => answerTokens(call) }));
  const env = {
    OPENROUTER_API_KEY: "sk-or-test-fake",
    OPENROUTER_BASE_URL: fake.baseUrl,
    OPENROUTER_MAX_RETRIES: "0",
    CREDIT_ENFORCEMENT: "enforce",
    MIN_OUTPUT_TOKENS: String(MIN_OUTPUT_TOKENS),
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
  await sql?.end();
  await database?.drop();
});

test("a Starter user (495 credits) talks to a premium agent: its call holds its bound, a few credits, not a whole window worth 3,091", async () => {
  const user = await newUser();
  const council = await createCouncil(user.on(a), "ROUNDTABLE", [["sage", "PREMIUM"]]);
  const from = fake.calls.length;
  const turn = await waitForTurn(user.on(b), await sendAccepted(user.on(b), council.sessionId, "What should we build first?"));
  expect(turn).toMatchObject({ status: "COMPLETED", stopReason: "DONE" });
  const [call] = callsSince(from);
  const bound = boundOfBody(call!);
  expect(bound.output).toBe(2048);
  const { rows } = await sql.query("SELECT hold_credits::text AS held, credits_burned::text AS credits, exceeds_bound FROM llm_call_events WHERE turn_id = $1", [turn.id]);
  expect(rows).toEqual([{ held: bound.credits.toFixed(4), credits: expect.any(String), exceeds_bound: false }]);
  // About 2,700 OE tokens at 14 × (SPEC 4): under 4 credits held, where the whole window's worst case held 3,091.
  expect(bound.credits.lt(4)).toBe(true);
  expect(await walletOf(user.id)).toEqual({ held: "0.0000", available: new Decimal(495).sub(rows[0].credits).toFixed(4) });
});

test("a user with 1 credit talks to a qwen agent until a call no longer fits at full output: that call's output is capped to what is left, and the next send is refused with InsufficientCreditsError, nothing written", async () => {
  const user = await newUser();
  const council = await createCouncil(user.on(a), "ROUNDTABLE", [["ada", "QWEN"]]);
  await setAvailable(user, "1");
  // 38,000 bytes per message: with the history the next call reaches qwen's whole window (40,960 tokens), about 0.82 credits at full output.
  const message = "é".repeat(19_000);
  answerTokens = () => 2000;
  try {
    let from = fake.calls.length;
    const first = await waitForTurn(user.on(a), await sendAccepted(user.on(a), council.sessionId, message));
    expect(first).toMatchObject({ status: "COMPLETED", stopReason: "DONE" });
    expect(Number(callsSince(from)[0]!.body.max_tokens)).toBe(2048);

    const left = new Decimal((await walletOf(user.id)).available);
    from = fake.calls.length;
    const second = await waitForTurn(user.on(b), await sendAccepted(user.on(b), council.sessionId, message));
    expect(second).toMatchObject({ status: "COMPLETED", stopReason: "DONE" });
    const [call] = callsSince(from);
    const maxTokens = Number(call!.body.max_tokens);
    expect(boundOfBody(call!, 2048).credits.gt(left)).toBe(true);
    expect(maxTokens).toBeGreaterThanOrEqual(MIN_OUTPUT_TOKENS);
    expect(maxTokens).toBeLessThan(2048);
    // The largest output whose bound fits in what was left: one more token would not.
    expect(boundOfBody(call!, maxTokens).credits.lte(left)).toBe(true);
    expect(boundOfBody(call!, maxTokens + 1).credits.gt(left)).toBe(true);
    const { rows } = await sql.query("SELECT hold_credits::text AS held, bound_output_tokens, credits_burned::text AS credits FROM llm_call_events WHERE turn_id = $1", [second.id]);
    expect(rows).toEqual([{ held: left.toFixed(4), bound_output_tokens: maxTokens, credits: expect.any(String) }]);
    const after = await walletOf(user.id);
    expect(after).toEqual({ held: "0.0000", available: left.sub(rows[0].credits).toFixed(4) });

    const turnsBefore = (await sql.query("SELECT count(*)::int AS n FROM turns WHERE user_id = $1", [user.id])).rows[0].n;
    const refused = await send(user.on(a), council.sessionId, message);
    // The least the next first call needs: the whole window with 256 output tokens.
    expect(refused).toMatchObject({ __typename: "InsufficientCreditsError", code: "INSUFFICIENT_CREDITS", required: boundOfBody(call!, MIN_OUTPUT_TOKENS).credits.toFixed(4), available: after.available });
    expect((await sql.query("SELECT count(*)::int AS n FROM turns WHERE user_id = $1", [user.id])).rows[0].n).toBe(turnsBefore);
    expect(await walletOf(user.id)).toEqual(after);
  } finally {
    answerTokens = () => 300;
  }
});

test("a turn that runs out of credits mid-way stops before the next call: PARTIAL with stop reason BUDGET, on the turn and its ending event; never below zero", async () => {
  const user = await newUser();
  const council = await createCouncil(user.on(a), "ROUNDTABLE", [["ada", "QWEN"], ["bob", "QWEN"], ["cyd", "QWEN"]]);
  await setAvailable(user, "0.05");
  answerTokens = () => 600;
  try {
    const from = fake.calls.length;
    const turnId = await sendAccepted(user.on(a), council.sessionId, "Go");
    const stream = streamTurnEvents(b.graphqlUrl, user.token, turnId);
    const turn = await waitForTurn(user.on(a), turnId);
    expect(turn).toMatchObject({ status: "PARTIAL", stopReason: "BUDGET" });
    expect(turn.steps.map((step) => [step.agentKey, step.status])).toEqual([
      [council.agents[0]!.agentKey, "COMPLETED"],
      [council.agents[1]!.agentKey, "FAILED"],
    ]);
    expect(turn.steps[1]!.error).toMatch(/^Stopped before this call: not enough credits for the next call/);
    const { events } = await stream.done;
    expect(events.at(-1)).toMatchObject({ __typename: "TurnCompleted", turnStatus: "PARTIAL", stopReason: "BUDGET" });
    // One provider call only: bob's was never made.
    expect(callsSince(from)).toHaveLength(1);
    const { rows } = await sql.query("SELECT count(*)::int AS rows FROM llm_call_events WHERE turn_id = $1", [turnId]);
    expect(rows[0].rows).toBe(1);
    const wallet = await walletOf(user.id);
    expect(wallet.held).toBe("0.0000");
    expect(new Decimal(wallet.available).gte(0)).toBe(true);
  } finally {
    answerTokens = () => 300;
  }
});

test("the next agent's step starts with the previous answer's ledger row, yet its hold still gets what that row's debit releases: a balance that covers the next call only after the release completes the turn", async () => {
  // Calibration on another user: the same council and message give the same two calls.
  const probe = await newUser();
  const probeCouncil = await createCouncil(probe.on(a), "ROUNDTABLE", [["ada", "QWEN"], ["bob", "QWEN"]]);
  let from = fake.calls.length;
  expect(await waitForTurn(probe.on(a), await sendAccepted(probe.on(a), probeCouncil.sessionId, "Go"))).toMatchObject({ status: "COMPLETED" });
  const [firstCall, secondCall] = callsSince(from);
  const firstBound = boundOfBody(firstCall!).credits;
  const secondLeast = boundOfBody(secondCall!, MIN_OUTPUT_TOKENS).credits;

  // Held at accept: the first call's whole bound. Beside it, half of what the second call needs at least: only the
  // first call's unused hold, released by its row's debit, lets the second call start.
  const user = await newUser();
  const council = await createCouncil(user.on(a), "ROUNDTABLE", [["ada", "QWEN"], ["bob", "QWEN"]]);
  await setAvailable(user, firstBound.add(secondLeast.div(2)).toFixed(4));
  from = fake.calls.length;
  const turn = await waitForTurn(user.on(a), await sendAccepted(user.on(a), council.sessionId, "Go"));
  expect(turn).toMatchObject({ status: "COMPLETED", stopReason: "DONE" });
  const calls = callsSince(from);
  expect(calls).toHaveLength(2);
  expect(Number(calls[0]!.body.max_tokens)).toBe(2048);
  expect(Number(calls[1]!.body.max_tokens)).toBeGreaterThanOrEqual(MIN_OUTPUT_TOKENS);
  const wallet = await walletOf(user.id);
  expect(wallet.held).toBe("0.0000");
  expect(new Decimal(wallet.available).gte(0)).toBe(true);
  expect(await invariantViolations(sql)).toEqual([]);
});

test("long roundtable turns on both instances racing for one balance: available never below zero, some stop with BUDGET, everything settled after, debits equal ledger credits", async () => {
  const user = await newUser();
  const council = await createCouncil(user.on(a), "ROUNDTABLE", [["ada", "QWEN"], ["bob", "DEEPSEEK"], ["cyd", "QWEN"]]);
  const sessions = [council.sessionId, ...(await Promise.all(Array.from({ length: 5 }, () => createSession(user.on(b), { roomId: council.roomId }))))];
  await setAvailable(user, "0.6");
  let length = 0;
  answerTokens = () => 200 + ((length += 137) % 1200);
  const sampler = sampleDecimal(sql, "SELECT credit_available(w)::text AS value FROM credit_wallets w WHERE user_id = $1", [user.id]);
  let samples: Prisma.Decimal[] = [];
  try {
    const results = await Promise.all(sessions.map((sessionId, index) => send(user.on(index % 2 ? a : b), sessionId, "Plan the launch in detail.")));
    // A send whose first call finds nothing left is refused; the others run until their next call does not fit.
    const turnIds = results.flatMap((result) => (result.__typename === "SendMessageSuccess" ? [result.turn.id] : []));
    for (const result of results) expect(["SendMessageSuccess", "InsufficientCreditsError"]).toContain(result.__typename);
    expect(turnIds.length).toBeGreaterThan(1);
    const turns = await Promise.all(turnIds.map((turnId) => waitForTurn(user.on(a), turnId)));
    expect(turns.some((turn) => turn.stopReason === "BUDGET")).toBe(true);
    for (const turn of turns) expect(["DONE", "BUDGET"]).toContain(turn.stopReason);
  } finally {
    answerTokens = () => 300;
    samples = await sampler.stop();
  }
  expect(samples.length).toBeGreaterThan(10);
  expect(samples.every((available) => available.gte(0))).toBe(true);
  const wallet = await walletOf(user.id);
  expect(wallet.held).toBe("0.0000");
  const { rows } = await sql.query(
    `SELECT (SELECT coalesce(sum(credits_burned), 0)::text FROM llm_call_events WHERE user_id = $1) AS burned,
            (SELECT coalesce(sum(amount), 0)::text FROM credit_transactions WHERE user_id = $1 AND kind = 'debit') AS debits,
            (SELECT count(*)::int FROM llm_call_events WHERE user_id = $1 AND credits_burned > hold_credits) AS over_hold`,
    [user.id],
  );
  expect(rows[0].burned).toBe(rows[0].debits);
  expect(rows[0].over_hold).toBe(0);
  expect(new Decimal(wallet.available).eq(new Decimal("0.6").sub(rows[0].burned))).toBe(true);
  expect(await invariantViolations(sql)).toEqual([]);
}, 60_000);

test("a provider report above the call's bound is stored as reported, flagged, counted in /metrics and listed for owners", async () => {
  const user = await newUser();
  const council = await createCouncil(user.on(a), "ROUNDTABLE", [["ada", "QWEN"]]);
  const inflated = (call: FakeCall): FakeReply =>
    callPurpose(call) === "agent" ? { kind: "stream", content: "Hi.", usage: { prompt_tokens: promptTokensOf(call) * 10, completion_tokens: 2 } } : { kind: "status", status: 500 };
  const aboveBoundCount = async () => Number(/^pantheon_llm_calls_above_bound_total (\d+)$/m.exec(await (await fetch(`${a.url}/metrics`)).text())![1]);
  const countedBefore = await aboveBoundCount();
  fake.setHandler(inflated);
  let turnId: string;
  try {
    turnId = await sendAccepted(user.on(a), council.sessionId, "Tell me something.");
    await waitForTurn(user.on(a), turnId);
  } finally {
    fake.setHandler(proseHandler({ answerTokens: (call) => answerTokens(call) }));
  }
  const { rows } = await sql.query("SELECT id::text, input_tokens_fresh, bound_input_tokens, exceeds_bound, usage_out_of_range, reported_usage FROM llm_call_events WHERE turn_id = $1", [turnId]);
  expect(rows).toHaveLength(1);
  const row = rows[0];
  expect(row.exceeds_bound).toBe(true);
  expect(row.usage_out_of_range).toBe(false);
  expect(row.input_tokens_fresh).toBeGreaterThan(row.bound_input_tokens);
  expect(row.reported_usage).toMatchObject({ promptTokens: row.input_tokens_fresh, completionTokens: 2 });

  expect(await aboveBoundCount()).toBe(countedBefore + 1);
  const listed = dataOf(await owner(CallsAboveBoundDocument, { first: 10 })).callsAboveBound.edges.map((edge) => edge.node);
  expect(listed).toEqual([expect.objectContaining({ id: row.id, userId: user.id, exceedsBound: true, inputTokensFresh: row.input_tokens_fresh, boundInputTokens: row.bound_input_tokens })]);
  const refused = await user.on(a)(CallsAboveBoundDocument, { first: 10 });
  expect(refused.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
});
