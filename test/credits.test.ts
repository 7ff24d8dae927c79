// Credits (SPEC 13, 14) against two server instances on one database:
// wallets open on Starter with the month's allowance granted once; every
// ledger row debits once, in its transaction; each call's hold bounds what the
// call can cost and its debit releases the rest; `enforce` lets concurrent
// sends from one user on both instances hold exactly what the balance covers;
// owners grant and adjust, idempotently and audited; the invariants hold
// after all of it.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { CreditTransactionsDocument, EstimateTurnCostDocument, GrantCreditsDocument, PreviewRoutingDocument, SetAccountSuspendedDocument, WalletDocument } from "./generated/graphql.ts";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { dataOf, graphqlClient, type GraphQLClient } from "./support/graphqlClient.ts";
import { startFakeOpenRouter, type FakeCall, type FakeOpenRouter, type FakeReply } from "./support/fakeOpenRouter.ts";
import { callPurpose, councilHandler, newScript, type CouncilScript } from "./support/councilProvider.ts";
import { createCouncil, createSession, roomSessions, send, sendAccepted, sendAllAtOnce, waitForTurn, type Council } from "./fixtures/turns.ts";
import { signTestToken } from "./fixtures/users.ts";
import { ledgerInsertSql } from "../src/metering/ledger.ts";
import { boundOfBody, firstCallCost, invariantViolations, qwenLedgerRow, sampleDecimal } from "./fixtures/credits.ts";
import { Prisma } from "../src/generated/prisma/client.ts";
import { seededRandom } from "./support/seededRandom.ts";

const Decimal = Prisma.Decimal;
const MAX_RETRIES = 2;
const MAX_OUTPUT_TOKENS = 2048;

let database: TestDatabase;
let sql: pg.Pool;
let fake: FakeOpenRouter;
let script: CouncilScript;
let a: TestServer;
let b: TestServer;
const ownerId = randomUUID();
let owner: GraphQLClient;

async function newUser() {
  const id = randomUUID();
  const token = await signTestToken({ sub: id });
  // The users row is created by the user's first request.
  return { id, on: (server: TestServer) => graphqlClient(server.graphqlUrl, token) };
}

async function adjust(userId: string, kind: "GRANT" | "ADJUSTMENT", amount: string, key: string = randomUUID()) {
  const result = dataOf(await owner(GrantCreditsDocument, { input: { userId, kind, amount, idempotencyKey: key } })).grantCredits;
  if (result.__typename !== "GrantCreditsSuccess") throw new Error(`grantCredits failed: ${JSON.stringify(result)}`);
  return result.transaction;
}

beforeAll(async () => {
  database = await createMigratedDatabase("credits");
  sql = new pg.Pool({ connectionString: database.url, max: 4 });
  // Dropping the database at the end terminates idle connections.
  sql.on("error", () => undefined);
  await sql.query("INSERT INTO users (id, admin_role) VALUES ($1, 'owner')", [ownerId]);
  script = newScript();
  fake = await startFakeOpenRouter(councilHandler(script));
  const env = {
    OPENROUTER_API_KEY: "sk-or-test-fake",
    OPENROUTER_BASE_URL: fake.baseUrl,
    OPENROUTER_MAX_RETRIES: String(MAX_RETRIES),
    CONTEXT_MAX_OUTPUT_TOKENS: String(MAX_OUTPUT_TOKENS),
    CREDIT_ENFORCEMENT: "enforce",
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

test("a new wallet opens on Starter with 495 credits for the month, granted once under 20 concurrent first reads on two instances", async () => {
  const user = await newUser();
  const wallets = await Promise.all(Array.from({ length: 20 }, (_, index) => user.on(index % 2 ? a : b)(WalletDocument)));
  for (const response of wallets) {
    expect(dataOf(response).viewer!.wallet).toMatchObject({ plan: "starter", allowance: "495.0000", granted: "0.0000", held: "0.0000", available: "495.0000" });
  }
  const wallet = dataOf(wallets[0]!).viewer!.wallet;
  const now = new Date();
  expect(wallet.periodStart).toBe(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString());
  expect(wallet.periodEnd).toBe(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString());
  const { rows } = await sql.query("SELECT kind, amount::text FROM credit_transactions WHERE user_id = $1", [user.id]);
  expect(rows).toEqual([{ kind: "plan_allowance", amount: "495.0000" }]);
});

test("every call reported at the largest usage its request allows costs exactly what was held for it; the debits release nothing, the turn's end leaves nothing held", async () => {
  const user = await newUser();
  const bounds: ReturnType<typeof boundOfBody>[] = [];
  const largest = (call: FakeCall): FakeReply => {
    const bound = boundOfBody(call);
    bounds.push(bound);
    return { kind: "stream", content: "A long answer.", usage: { prompt_tokens: bound.input, completion_tokens: bound.output, cost: 1 } };
  };
  fake.setHandler(largest);
  try {
    const council = await createCouncil(user.on(a), "ROUNDTABLE", [["ada", "QWEN"], ["bob", "DEEPSEEK"]]);
    const turnId = await sendAccepted(user.on(a), council.sessionId, "Go");
    expect((await waitForTurn(user.on(a), turnId)).status).toBe("COMPLETED");
    const { rows } = await sql.query(
      `SELECT e.credits_burned::text AS credits, e.hold_credits::text AS held, e.bound_input_tokens AS input, e.bound_output_tokens AS output, e.exceeds_bound,
              t.from_hold::text AS from_hold, t.released::text AS released
         FROM llm_call_events e JOIN credit_transactions t ON t.ledger_event_id = e.id WHERE e.turn_id = $1 ORDER BY e.created_at`,
      [turnId],
    );
    expect(rows).toHaveLength(2);
    for (const [index, row] of rows.entries()) {
      const bound = bounds[index]!;
      expect(row).toEqual({ credits: bound.credits.toFixed(4), held: bound.credits.toFixed(4), input: bound.input, output: bound.output, exceeds_bound: false, from_hold: bound.credits.toFixed(4), released: "0.0000" });
    }
    const { rows: holds } = await sql.query("SELECT amount::text, remaining::text, released_at IS NOT NULL AS released FROM credit_holds WHERE turn_id = $1", [turnId]);
    expect(holds).toEqual([{ amount: bounds[0]!.credits.add(bounds[1]!.credits).toFixed(4), remaining: "0.0000", released: true }]);
    const wallet = dataOf(await user.on(b)(WalletDocument)).viewer!.wallet;
    expect(wallet.held).toBe("0.0000");
    expect(wallet.available).toBe(new Decimal(495).sub(bounds[0]!.credits).sub(bounds[1]!.credits).toFixed(4));
  } finally {
    fake.setHandler(councilHandler(script));
  }
});

test("enforce: 50 concurrent sends on two instances against a balance of exactly 3 first-call bounds: 3 accepted, 47 refused with nothing written, never below zero, all settled after", async () => {
  const user = await newUser();
  const council = await createCouncil(user.on(a), "ROUNDTABLE", [["ada", "QWEN"]]);
  const { firstCall: hold, required } = await firstCallCost(user.on(a), council.sessionId, "Go");
  const sessions = await roomSessions(user.on(b), council, 50);
  await adjust(user.id, "ADJUSTMENT", hold.mul(3).sub(495).toFixed(4));
  expect(dataOf(await user.on(a)(WalletDocument)).viewer!.wallet.available).toBe(hold.mul(3).toFixed(4));

  const sampler = sampleDecimal(sql, "SELECT credit_available(w)::text AS value FROM credit_wallets w WHERE user_id = $1", [user.id]);
  let samples: Prisma.Decimal[] = [];
  const burst = await sendAllAtOnce(script, [user.on(a), user.on(b)], sessions, "Go");
  try {
    const refused = burst.results.filter((result) => result.__typename === "InsufficientCreditsError");
    expect(burst.accepted).toHaveLength(3);
    expect(refused).toHaveLength(47);
    for (const result of refused) {
      expect(result).toMatchObject({ code: "INSUFFICIENT_CREDITS", required: required.toFixed(4), available: "0.0000" });
    }
    const { rows: written } = await sql.query(
      "SELECT (SELECT count(*)::int FROM turns WHERE user_id = $1) AS turns, (SELECT count(*)::int FROM credit_holds WHERE user_id = $1) AS holds, (SELECT count(*)::int FROM messages m JOIN sessions s ON s.id = m.session_id WHERE s.owner_id = $1) AS messages",
      [user.id],
    );
    expect(written[0]).toEqual({ turns: 3, holds: 3, messages: 3 });
  } finally {
    for (const turn of await burst.finish()) expect(turn.status).toBe("COMPLETED");
    samples = await sampler.stop();
  }
  expect(samples.length).toBeGreaterThan(10);
  expect(samples.every((available) => available.gte(0))).toBe(true);
  const wallet = dataOf(await user.on(b)(WalletDocument)).viewer!.wallet;
  expect(wallet.held).toBe("0.0000");
  const { rows: spent } = await sql.query("SELECT sum(credits_burned)::text AS spent FROM llm_call_events WHERE user_id = $1", [user.id]);
  expect(new Decimal(wallet.available).eq(hold.mul(3).sub(spent[0].spent))).toBe(true);
  expect(await invariantViolations(sql)).toEqual([]);
}, 60_000);

test("estimateTurnCost: min ≤ expected ≤ max, firstCall is what a send then holds, max grows with the history; no provider call; typed errors", async () => {
  const user = await newUser();
  const council = await createCouncil(user.on(a), "ROUNDTABLE", [["ada", "QWEN"], ["bob", "DEEPSEEK"]]);
  const estimateOf = async (sessionId: string, content: string) => {
    const result = dataOf(await user.on(b)(EstimateTurnCostDocument, { input: { sessionId, content } })).estimateTurnCost;
    if (result.__typename !== "EstimateTurnCostSuccess") throw new Error(`estimateTurnCost failed: ${JSON.stringify(result)}`);
    return result.estimate;
  };
  const callsBefore = fake.calls.length;
  const first = await estimateOf(council.sessionId, "How should we launch?");
  expect(fake.calls.length).toBe(callsBefore);
  expect(first).toMatchObject({ mode: "ROUNDTABLE", available: "495.0000" });
  const [min, expected, max, firstCall, required] = [first.min, first.expected, first.max, first.firstCall, first.required].map((value) => new Decimal(value)) as [
    Prisma.Decimal,
    Prisma.Decimal,
    Prisma.Decimal,
    Prisma.Decimal,
    Prisma.Decimal,
  ];
  expect(min.gt(0) && min.lte(expected) && expected.lte(max)).toBe(true);
  expect(required.gt(0) && required.lt(firstCall) && firstCall.lt(max)).toBe(true);

  script.outputs.set(council.agents[0]!.agentKey, "A long considered answer. ".repeat(400));
  try {
    await waitForTurn(user.on(a), await sendAccepted(user.on(a), council.sessionId, "Go"));
  } finally {
    script.outputs.clear();
  }
  const later = await estimateOf(council.sessionId, "How should we launch?");
  expect(new Decimal(later.expected).gt(first.expected)).toBe(true);
  expect(new Decimal(later.max).gt(first.max)).toBe(true);
  // The history's 10,000 characters are read by the first call: its bound grows by their bytes, priced as qwen input.
  expect(new Decimal(later.firstCall).sub(first.firstCall).gte(new Decimal(10_000).mul("0.35").mul("0.00005"))).toBe(true);
  let release!: () => void;
  script.hold = new Promise((resolve) => (release = resolve));
  try {
    const turnId = await sendAccepted(user.on(a), council.sessionId, "How should we launch?");
    const { rows } = await sql.query("SELECT amount::text FROM credit_holds WHERE turn_id = $1", [turnId]);
    expect(rows).toEqual([{ amount: later.firstCall }]);
    release();
    await waitForTurn(user.on(a), turnId);
  } finally {
    script.hold = null;
    release?.();
  }

  const manual = await createCouncil(user.on(a), "MANUAL", [["cy", "QWEN"]]);
  const untagged = dataOf(await user.on(a)(EstimateTurnCostDocument, { input: { sessionId: manual.sessionId, content: "no tags here" } })).estimateTurnCost;
  expect(untagged).toMatchObject({ __typename: "NoValidTagsError", code: "NO_VALID_TAGS", availableAgentKeys: [manual.agents[0]!.agentKey] });
  const missing = dataOf(await user.on(a)(EstimateTurnCostDocument, { input: { sessionId: randomUUID(), content: "Go" } })).estimateTurnCost;
  expect(missing).toMatchObject({ __typename: "NotFoundError", code: "NOT_FOUND" });
  const empty = dataOf(await user.on(a)(EstimateTurnCostDocument, { input: { sessionId: council.sessionId, content: "   " } })).estimateTurnCost;
  expect(empty).toMatchObject({ __typename: "ValidationError", code: "VALIDATION_FAILED" });
});

test("a metered routing preview holds its one call's bound while the call runs, releases it once its row is recorded, and is refused when the bound does not fit", async () => {
  const user = await newUser();
  const council = await createCouncil(user.on(a), "ORCHESTRATOR", [["ada", "QWEN"]]);
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const routing = councilHandler(script);
  fake.setHandler(async (call) => {
    if (callPurpose(call) === "routing") await released;
    return routing(call);
  });
  try {
    const previewing = user.on(b)(PreviewRoutingDocument, { input: { sessionId: council.sessionId, content: "Who?", runManager: true } });
    let held: { turn_id: string; amount: string } | undefined;
    for (const deadline = Date.now() + 5_000; !held && Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 20))) {
      held = (await sql.query("SELECT turn_id, amount::text FROM credit_holds WHERE user_id = $1", [user.id])).rows[0];
    }
    expect(held).toBeDefined();
    const [call] = fake.calls.slice(-1);
    expect(held!.amount).toBe(boundOfBody(call!).credits.toFixed(4));
    expect(dataOf(await user.on(a)(WalletDocument)).viewer!.wallet).toMatchObject({ held: held!.amount });
    release();
    expect(dataOf(await previewing).previewRouting).toMatchObject({ __typename: "PreviewRoutingSuccess", decision: { __typename: "RouteToAgents", metered: true } });
  } finally {
    release();
    fake.setHandler(councilHandler(script));
  }
  const { rows } = await sql.query("SELECT kind::text, turn_id FROM credit_transactions WHERE user_id = $1 AND kind <> 'plan_allowance' ORDER BY created_at", [user.id]);
  expect(rows).toEqual([
    { kind: "hold", turn_id: null },
    { kind: "debit", turn_id: null },
    { kind: "release", turn_id: null },
  ]);
  expect(dataOf(await user.on(a)(WalletDocument)).viewer!.wallet.held).toBe("0.0000");

  await adjust(user.id, "ADJUSTMENT", new Decimal(dataOf(await user.on(a)(WalletDocument)).viewer!.wallet.available).sub("0.01").neg().toFixed(4));
  const callsBefore = fake.calls.length;
  const refused = dataOf(await user.on(b)(PreviewRoutingDocument, { input: { sessionId: council.sessionId, content: "Who?", runManager: true } })).previewRouting;
  expect(refused).toMatchObject({ __typename: "InsufficientCreditsError", code: "INSUFFICIENT_CREDITS", available: "0.0100" });
  expect(fake.calls.length).toBe(callsBefore);
  const { rows: previews } = await sql.query("SELECT count(*)::int AS previews FROM routing_previews WHERE user_id = $1", [user.id]);
  expect(previews[0].previews).toBe(1);
  expect(await invariantViolations(sql)).toEqual([]);
});

test("owners grant and adjust once per idempotency key, audited; others are refused; the history lists every entry newest first", async () => {
  const user = await newUser();
  await user.on(a)(WalletDocument);
  const key = `grant-${randomUUID()}`;
  const first = await adjust(user.id, "GRANT", "25.5", key);
  const retried = await adjust(user.id, "GRANT", "25.5", key);
  expect(retried.id).toBe(first.id);
  expect(first).toMatchObject({ kind: "GRANT", amount: "25.5000", balanceAfter: "520.5000", initiatedBy: `admin:${ownerId}` });
  const reused = dataOf(await owner(GrantCreditsDocument, { input: { userId: user.id, kind: "GRANT", amount: "30", idempotencyKey: key } })).grantCredits;
  expect(reused).toMatchObject({ __typename: "ConflictError", code: "CONFLICT" });
  const negativeGrant = dataOf(await owner(GrantCreditsDocument, { input: { userId: user.id, kind: "GRANT", amount: "-5", idempotencyKey: randomUUID() } })).grantCredits;
  expect(negativeGrant).toMatchObject({ __typename: "ValidationError", code: "VALIDATION_FAILED" });
  const notOwner = await user.on(a)(GrantCreditsDocument, { input: { userId: user.id, kind: "GRANT", amount: "1000", idempotencyKey: randomUUID() } });
  expect(notOwner.data?.grantCredits ?? null).toBeNull();
  expect(notOwner.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");

  const { rows: audits } = await sql.query("SELECT action, target, after->>'amount' AS amount FROM admin_audit_log WHERE target = $1", [`user:${user.id}`]);
  expect(audits).toEqual([{ action: "credits.grant", target: `user:${user.id}`, amount: "25.5000" }]);
  const history = dataOf(await user.on(b)(CreditTransactionsDocument, { first: 10 })).viewer!.creditTransactions.edges.map((edge) => edge.node);
  expect(history.map((entry) => [entry.kind, entry.amount])).toEqual([
    ["GRANT", "25.5000"],
    ["PLAN_ALLOWANCE", "495.0000"],
  ]);
  expect(dataOf(await user.on(a)(WalletDocument)).viewer!.wallet).toMatchObject({ granted: "25.5000", available: "520.5000" });
});

test("a suspended account gets FORBIDDEN everywhere and can send on no instance at once; its running turn finishes; reactivation restores it; both audited", async () => {
  const user = await newUser();
  const council = await createCouncil(user.on(a), "ROUNDTABLE", [["ada", "QWEN"]]);
  const sessionTwo = await createSession(user.on(a), { roomId: council.roomId });
  expect(dataOf(await user.on(b)(WalletDocument)).viewer!.wallet.plan).toBe("starter"); // b caches the account as active
  let release!: () => void;
  script.holds.set(council.agents[0]!.agentKey, new Promise((resolve) => (release = resolve)));
  const running = await sendAccepted(user.on(a), council.sessionId, "Go");

  const suspend = (suspended: boolean) => owner(SetAccountSuspendedDocument, { input: { userId: user.id, suspended, reason: "test" } });
  expect(dataOf(await suspend(true)).setAccountSuspended).toMatchObject({ __typename: "SetAccountSuspendedSuccess", account: { userId: user.id, suspended: true } });
  const onA = await user.on(a)(WalletDocument);
  expect(onA.errors?.[0]).toMatchObject({ message: "This account is suspended.", extensions: { code: "FORBIDDEN" } });
  // b still holds the account as active for up to 30 s, but a send checks under the lock.
  expect(await send(user.on(b), sessionTwo, "Again")).toMatchObject({ __typename: "ForbiddenError", code: "FORBIDDEN", message: "This account is suspended." });
  release();
  expect((await waitForTurn(user.on(b), running)).status).toBe("COMPLETED");

  expect(dataOf(await suspend(false)).setAccountSuspended).toMatchObject({ account: { suspended: false, suspendedAt: null } });
  expect(dataOf(await user.on(a)(WalletDocument)).viewer!.wallet.plan).toBe("starter");
  await waitForTurn(user.on(b), await sendAccepted(user.on(b), sessionTwo, "Back"));
  const { rows } = await sql.query("SELECT action FROM admin_audit_log WHERE target = $1 ORDER BY created_at", [`user:${user.id}`]);
  expect(rows.map((row) => row.action)).toEqual(["account.suspend", "account.reactivate"]);
  const notOwner = await user.on(a)(SetAccountSuspendedDocument, { input: { userId: ownerId, suspended: true } });
  expect(notOwner.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
});

test("invariants hold over a random run of turns, failures, grants, adjustments, concurrent sends and replayed ledger rows", async () => {
  const random = seededRandom(20261130);
  const users = await Promise.all([newUser(), newUser(), newUser()]);
  const councils: Council[] = [];
  for (const user of users) {
    councils.push(await createCouncil(user.on(a), "ROUNDTABLE", [["ada", "QWEN"], ["bob", "DEEPSEEK"], ["cy", "QWEN"]]));
    await adjust(user.id, "GRANT", "200");
  }
  for (let round = 0; round < 12; round++) {
    const index = Math.floor(random() * users.length);
    const user = users[index]!;
    const choice = random();
    if (choice < 0.15) {
      await adjust(user.id, random() < 0.5 ? "GRANT" : "ADJUSTMENT", (random() < 0.5 ? "-" : "") + (1 + Math.floor(random() * 20)).toString());
    } else if (choice < 0.3) {
      // A ledger row written twice (a replay after an unknown outcome) debits once.
      const row = qwenLedgerRow(user.id, councils[index]!);
      for (let write = 0; write < 2; write++) {
        const statement = ledgerInsertSql([row]);
        await sql.query(statement.text, statement.values);
      }
    } else {
      const failing = random() < 0.3 ? "bob" : null;
      script.failing = new Set(failing ? councils.map((council) => council.agents[1]!.agentKey) : []);
      const sends = users.map(async (other, otherIndex) => (otherIndex === index || random() < 0.4 ? sendAccepted(other.on(otherIndex % 2 ? a : b), councils[otherIndex]!.sessionId, `Round ${round}`) : null));
      for (const [otherIndex, turnId] of (await Promise.all(sends)).entries()) if (turnId) await waitForTurn(users[otherIndex]!.on(a), turnId);
      script.failing = new Set();
    }
  }
  expect(await invariantViolations(sql)).toEqual([]);
  const { rows } = await sql.query("SELECT count(*)::int AS open FROM credit_holds WHERE released_at IS NULL");
  expect(rows[0].open).toBe(0);
}, 120_000);
