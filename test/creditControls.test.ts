// Credit controls (SPEC 13) against two server instances on one database:
// the owners' runtime override of CREDIT_ENFORCEMENT, room budgets under
// concurrent sends, plan changes, the analysts' reads, the balance on a
// turn's ending, and low-balance events — once per crossing, to walletEvents
// subscribers and to a signed webhook that fails twice before it accepts.
import { createHmac, randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import {
  CreditEnforcementDocument,
  CreditPlansDocument,
  EstimateTurnCostDocument,
  SetLowBalanceThresholdDocument,
  GrantCreditsDocument,
  RoomCreditBudgetDocument,
  SetCreditEnforcementDocument,
  SetRoomCreditBudgetDocument,
  SetUserPlanDocument,
  UserCreditTransactionsDocument,
  UserWalletDocument,
  WalletDocument,
  WalletEventsDocument,
  type CreditEnforcement,
} from "./generated/graphql.ts";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { dataOf, graphqlClient, type GraphQLClient } from "./support/graphqlClient.ts";
import { startFakeOpenRouter, type FakeOpenRouter } from "./support/fakeOpenRouter.ts";
import { councilHandler, newScript, type CouncilScript } from "./support/councilProvider.ts";
import { subscribe } from "./support/sse.ts";
import { streamTurnEvents } from "./support/eventClient.ts";
import { createCouncil, roomSessions, send, sendAccepted, sendAllAtOnce, waitForTurn } from "./fixtures/turns.ts";
import { signTestToken } from "./fixtures/users.ts";
import { firstCallCost, invariantViolations, qwenLedgerRow, sampleDecimal } from "./fixtures/credits.ts";
import { ledgerInsertSql } from "../src/metering/ledger.ts";
import { Prisma } from "../src/generated/prisma/client.ts";

const Decimal = Prisma.Decimal;
const MAX_RETRIES = 2;
const MAX_OUTPUT_TOKENS = 2048;
const WEBHOOK_SECRET = "webhook-secret-for-tests-0123456789";
// Above the sender's 1 s claim tick, so the gaps show the backoff and not the tick.
const RETRY_BASE_MS = 1_500;

let database: TestDatabase;
let sql: pg.Pool;
let fake: FakeOpenRouter;
let script: CouncilScript;
let a: TestServer;
let b: TestServer;
let owner: GraphQLClient;
let analyst: GraphQLClient;
const ownerId = randomUUID();
const analystId = randomUUID();

interface WebhookDelivery {
  at: number;
  eventId: string;
  body: string;
  timestamp: string;
  signature: string;
  answered: number;
}
const deliveries: WebhookDelivery[] = [];
/** User id → the first event of theirs the receiver sees, and how many more times it answers 500 for it. */
const flakyFirstEvent = new Map<string, { eventId: string | null; left: number }>();
let receiver: http.Server;

async function startReceiver(): Promise<string> {
  receiver = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const eventId = String(request.headers["x-pantheon-event-id"]);
      const body = Buffer.concat(chunks).toString("utf8");
      const flaky = flakyFirstEvent.get((JSON.parse(body) as { data: { userId: string } }).data.userId);
      if (flaky) flaky.eventId ??= eventId;
      const answered = flaky?.eventId === eventId && flaky.left > 0 ? 500 : 204;
      if (answered === 500) flaky!.left -= 1;
      deliveries.push({
        at: Date.now(),
        eventId,
        body,
        timestamp: String(request.headers["x-pantheon-timestamp"]),
        signature: String(request.headers["x-pantheon-signature"]),
        answered,
      });
      response.writeHead(answered).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/pantheon`;
}

async function newUser() {
  const id = randomUUID();
  const token = await signTestToken({ sub: id });
  return { id, token, on: (server: TestServer) => graphqlClient(server.graphqlUrl, token) };
}

async function adjust(userId: string, kind: "GRANT" | "ADJUSTMENT", amount: string) {
  const result = dataOf(await owner(GrantCreditsDocument, { input: { userId, kind, amount, idempotencyKey: randomUUID() } })).grantCredits;
  if (result.__typename !== "GrantCreditsSuccess") throw new Error(`grantCredits failed: ${JSON.stringify(result)}`);
}

async function setEnforcement(mode: CreditEnforcement | null) {
  const result = dataOf(await owner(SetCreditEnforcementDocument, { input: { mode } })).setCreditEnforcement;
  if (result.__typename !== "SetCreditEnforcementSuccess") throw new Error(`setCreditEnforcement failed: ${JSON.stringify(result)}`);
  return result.enforcement;
}

async function until<T>(read: () => Promise<T> | T, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  database = await createMigratedDatabase("credit_controls");
  sql = new pg.Pool({ connectionString: database.url, max: 8 });
  sql.on("error", () => undefined);
  await sql.query("INSERT INTO users (id, admin_role) VALUES ($1, 'owner'), ($2, 'analyst')", [ownerId, analystId]);
  script = newScript();
  fake = await startFakeOpenRouter(councilHandler(script));
  const webhookUrl = await startReceiver();
  const env = {
    OPENROUTER_API_KEY: "sk-or-test-fake",
    OPENROUTER_BASE_URL: fake.baseUrl,
    OPENROUTER_MAX_RETRIES: String(MAX_RETRIES),
    CONTEXT_MAX_OUTPUT_TOKENS: String(MAX_OUTPUT_TOKENS),
    CREDIT_ENFORCEMENT: "warn",
    RATE_LIMIT_TURNS_PER_MINUTE: "1000",
    RATE_LIMIT_TURNS_PER_HOUR: "10000",
    ALERT_WEBHOOK_URL: webhookUrl,
    ALERT_WEBHOOK_SECRET: WEBHOOK_SECRET,
    ALERT_WEBHOOK_RETRY_BASE_MS: String(RETRY_BASE_MS),
  };
  [a, b] = await Promise.all([startTestServer(database.url, env), startTestServer(database.url, env)]);
  owner = graphqlClient(a.graphqlUrl, await signTestToken({ sub: ownerId }));
  analyst = graphqlClient(b.graphqlUrl, await signTestToken({ sub: analystId }));
}, 120_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  await fake?.close();
  await new Promise((resolve) => receiver?.close(resolve));
  await sql?.end();
  await database?.drop();
});

test("an owner's enforcement override applies on every instance at once and is audited; removing it returns each to its CREDIT_ENFORCEMENT", async () => {
  expect(dataOf(await analyst(CreditEnforcementDocument)).creditEnforcement).toEqual({ mode: "WARN", override: null, configured: "WARN" });
  const user = await newUser();
  const council = await createCouncil(user.on(a), "ROUNDTABLE", [["ada", "QWEN"]]);
  const { required } = await firstCallCost(user.on(a), council.sessionId, "Under enforce");
  await adjust(user.id, "ADJUSTMENT", required.div(2).sub(495).toFixed(4));

  // warn: a send beyond the balance runs.
  await waitForTurn(user.on(b), await sendAccepted(user.on(b), council.sessionId, "Under warn"));
  expect(await setEnforcement("ENFORCE")).toEqual({ mode: "ENFORCE", override: "ENFORCE", configured: "WARN" });
  // b took no part in the change and refuses the very next send (whose first call now reads the turn just ended too).
  const { required: now } = await firstCallCost(user.on(a), council.sessionId, "Under enforce");
  expect(now.gt(required)).toBe(true);
  expect(await send(user.on(b), council.sessionId, "Under enforce")).toMatchObject({ __typename: "InsufficientCreditsError", required: now.toFixed(4) });
  expect(dataOf(await analyst(CreditEnforcementDocument)).creditEnforcement.mode).toBe("ENFORCE");
  expect(await setEnforcement(null)).toEqual({ mode: "WARN", override: null, configured: "WARN" });
  await waitForTurn(user.on(b), await sendAccepted(user.on(b), council.sessionId, "Warn again"));

  const { rows } = await sql.query("SELECT actor, before, after FROM admin_audit_log WHERE action = 'credits.setEnforcement' ORDER BY created_at");
  expect(rows).toEqual([
    { actor: `user:${ownerId}`, before: null, after: { mode: "enforce" } },
    { actor: `user:${ownerId}`, before: { mode: "enforce" }, after: null },
  ]);
  for (const client of [user.on(a), analyst]) {
    expect((await client(SetCreditEnforcementDocument, { input: { mode: "OFF" } })).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  }
  expect((await user.on(a)(CreditEnforcementDocument)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
});

test("a room's monthly budget: 12 concurrent sends over two instances against a cap of exactly 2 first-call bounds → 2 accepted, 10 RoomBudgetExceededError, the room never over its cap; settled after; only the owner sets it", async () => {
  await setEnforcement("ENFORCE");
  try {
    const user = await newUser();
    const council = await createCouncil(user.on(a), "ROUNDTABLE", [["ada", "QWEN"]]);
    const { firstCall: hold, required } = await firstCallCost(user.on(a), council.sessionId, "Go");
    const sessions = await roomSessions(user.on(b), council, 12);
    await adjust(user.id, "GRANT", "100000");
    const budget = hold.mul(2).toFixed(4);
    const set = dataOf(await user.on(a)(SetRoomCreditBudgetDocument, { input: { roomId: council.roomId, monthlyBudget: budget } })).setRoomCreditBudget;
    expect(set).toMatchObject({ __typename: "SetRoomCreditBudgetSuccess", room: { creditBudget: { monthlyBudget: budget, spent: "0.0000", held: "0.0000", available: budget } } });
    const stranger = await newUser();
    expect(dataOf(await stranger.on(a)(SetRoomCreditBudgetDocument, { input: { roomId: council.roomId, monthlyBudget: "1" } })).setRoomCreditBudget.__typename).toBe("NotFoundError");
    expect(dataOf(await user.on(a)(SetRoomCreditBudgetDocument, { input: { roomId: council.roomId, monthlyBudget: "-1" } })).setRoomCreditBudget.__typename).toBe("ValidationError");
    const estimate = dataOf(await user.on(b)(EstimateTurnCostDocument, { input: { sessionId: council.sessionId, content: "Go" } })).estimateTurnCost;
    expect(estimate).toMatchObject({ estimate: { firstCall: hold.toFixed(4), roomAvailable: budget } });

    const sampler = sampleDecimal(sql, "SELECT coalesce(sum(spent + held), 0)::text AS value FROM room_credit_usage WHERE room_id = $1", [council.roomId]);
    let samples: Prisma.Decimal[] = [];
    const burst = await sendAllAtOnce(script, [user.on(a), user.on(b)], sessions, "Go");
    try {
      const refused = burst.results.filter((result) => result.__typename === "RoomBudgetExceededError");
      expect(burst.accepted).toHaveLength(2);
      expect(refused).toHaveLength(10);
      for (const result of refused) expect(result).toMatchObject({ code: "ROOM_BUDGET_EXCEEDED", required: required.toFixed(4), available: "0.0000", monthlyBudget: budget });
      expect((await sql.query("SELECT count(*)::int AS turns FROM turns WHERE user_id = $1", [user.id])).rows[0].turns).toBe(2);
    } finally {
      for (const turn of await burst.finish()) expect(turn.status).toBe("COMPLETED");
      samples = await sampler.stop();
    }
    expect(samples.length).toBeGreaterThan(5);
    expect(samples.every((used) => used.lte(budget))).toBe(true);

    const { rows: spent } = await sql.query("SELECT sum(credits_burned)::text AS spent FROM llm_call_events WHERE room_id = $1", [council.roomId]);
    const after = dataOf(await user.on(b)(RoomCreditBudgetDocument, { id: council.roomId })).room!.creditBudget;
    expect(after).toEqual({ monthlyBudget: budget, spent: new Decimal(spent[0].spent).toFixed(4), held: "0.0000", available: new Decimal(budget).sub(spent[0].spent).toFixed(4) });
    // A cap lowered to just under the least one more first call needs refuses it; clearing the cap lets the room send again.
    const lowered = new Decimal(spent[0].spent).add(required).sub("0.0001").toFixed(4);
    await user.on(a)(SetRoomCreditBudgetDocument, { input: { roomId: council.roomId, monthlyBudget: lowered } });
    expect(await send(user.on(a), sessions[2]!, "Go")).toMatchObject({ __typename: "RoomBudgetExceededError", available: required.sub("0.0001").toFixed(4), monthlyBudget: lowered });
    await user.on(a)(SetRoomCreditBudgetDocument, { input: { roomId: council.roomId, monthlyBudget: null } });
    await waitForTurn(user.on(a), await sendAccepted(user.on(a), sessions[2]!, "Uncapped"));
    expect(await invariantViolations(sql)).toEqual([]);
  } finally {
    await setEnforcement(null);
  }
}, 60_000);

test("owners set a user's plan, audited: an upgrade tops up the month's allowance once, a downgrade keeps it; analysts read wallets and histories without opening them", async () => {
  const user = await newUser();
  await user.on(a)(CreditEnforcementDocument); // creates the users row, not a wallet
  const unopened = dataOf(await analyst(UserWalletDocument, { userId: user.id })).userWallet;
  expect(unopened).toMatchObject({ userId: user.id, plan: "starter", allowance: "495.0000", granted: "0.0000", available: "495.0000", lowBalanceThreshold: "49.5000", lowBalance: false });
  expect((await sql.query("SELECT count(*)::int AS n FROM credit_wallets WHERE user_id = $1", [user.id])).rows[0].n).toBe(0);

  const setPlan = async (plan: "STARTER" | "PRO" | "POWER") => {
    const result = dataOf(await owner(SetUserPlanDocument, { input: { userId: user.id, plan } })).setUserPlan;
    if (result.__typename !== "SetUserPlanSuccess") throw new Error(JSON.stringify(result));
    return result.wallet;
  };
  expect(await setPlan("PRO")).toMatchObject({ plan: "pro", allowance: "1980.0000", lowBalanceThreshold: "198.0000" });
  expect(await setPlan("STARTER")).toMatchObject({ plan: "starter", allowance: "1980.0000" });
  // Back up to Pro in the same month: no second top-up.
  expect(await setPlan("PRO")).toMatchObject({ plan: "pro", allowance: "1980.0000" });
  expect(await setPlan("POWER")).toMatchObject({ plan: "power", allowance: "4180.0000", lowBalanceThreshold: "418.0000" });
  expect(dataOf(await user.on(b)(WalletDocument)).viewer!.wallet).toMatchObject({ plan: "power", allowance: "4180.0000", available: "4180.0000" });

  const history = dataOf(await analyst(UserCreditTransactionsDocument, { userId: user.id, first: 10 })).userCreditTransactions.edges.map((edge) => edge.node);
  expect(history.map((entry) => [entry.kind, entry.amount])).toEqual([
    ["PLAN_ALLOWANCE", "2200.0000"],
    ["PLAN_ALLOWANCE", "1485.0000"],
    ["PLAN_ALLOWANCE", "495.0000"],
  ]);
  expect(history[0]!.initiatedBy).toBe(`admin:${ownerId}`);
  const { rows } = await sql.query("SELECT before, after FROM admin_audit_log WHERE action = 'credits.setPlan' AND target = $1 ORDER BY created_at", [`user:${user.id}`]);
  expect(rows.map((row) => [row.before.plan, row.after.plan])).toEqual([["starter", "pro"], ["pro", "starter"], ["starter", "pro"], ["pro", "power"]]);

  expect((await user.on(a)(SetUserPlanDocument, { input: { userId: user.id, plan: "POWER" } })).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  expect((await analyst(SetUserPlanDocument, { input: { userId: user.id, plan: "POWER" } })).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  expect((await user.on(a)(UserWalletDocument, { userId: ownerId })).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  expect((await user.on(a)(UserCreditTransactionsDocument, { userId: ownerId })).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  expect((await analyst(UserWalletDocument, { userId: randomUUID() })).errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
  expect(await invariantViolations(sql)).toEqual([]);
});

test("TurnCompleted carries the wallet's available credits right after the turn's hold was released: kept with the ending, the same on replay; without a hold, after the last debit", async () => {
  const user = await newUser();
  const council = await createCouncil(user.on(a), "ROUNDTABLE", [["ada", "QWEN"]]);
  const turnId = await sendAccepted(user.on(a), council.sessionId, "Hello");
  const stream = streamTurnEvents(b.graphqlUrl, user.token, turnId);
  const { events } = await stream.done;
  const ending = events.at(-1)!;
  expect(ending.__typename).toBe("TurnCompleted");
  const wallet = dataOf(await user.on(a)(WalletDocument)).viewer!.wallet;
  expect(ending.__typename === "TurnCompleted" && ending.creditsAvailableAfter).toBe(wallet.available);
  expect(wallet.held).toBe("0.0000");
  // The ending statement released the hold itself and kept the balance in the event; the trigger found nothing more to release.
  const releases = await sql.query("SELECT balance_after::text FROM credit_transactions WHERE turn_id = $1 AND kind = 'release'", [turnId]);
  expect(releases.rows).toEqual([{ balance_after: wallet.available }]);
  const kept = await sql.query("SELECT payload->>'creditsAvailableAfter' AS balance FROM turn_events WHERE turn_id = $1 AND type = 'TurnCompleted'", [turnId]);
  expect(kept.rows).toEqual([{ balance: wallet.available }]);
  const endingOf = async (server: TestServer, id: string) => (await streamTurnEvents(server.graphqlUrl, user.token, id).done).events.at(-1);
  expect(await endingOf(a, turnId)).toMatchObject({ __typename: "TurnCompleted", creditsAvailableAfter: wallet.available });
  // An ending kept without it (before this release, or by an interruption) has it read back from the release's entry.
  await sql.query("UPDATE turn_events SET payload = payload - 'creditsAvailableAfter' WHERE turn_id = $1 AND type = 'TurnCompleted'", [turnId]);
  expect(await endingOf(b, turnId)).toMatchObject({ __typename: "TurnCompleted", creditsAvailableAfter: wallet.available });

  await setEnforcement("OFF");
  try {
    const unheld = await sendAccepted(user.on(a), council.sessionId, "Without a hold");
    const unheldEnding = await endingOf(b, unheld);
    const debits = await sql.query("SELECT balance_after::text FROM credit_transactions WHERE turn_id = $1 ORDER BY kind", [unheld]);
    expect(debits.rows).toEqual([{ balance_after: dataOf(await user.on(a)(WalletDocument)).viewer!.wallet.available }]);
    expect(unheldEnding).toMatchObject({ __typename: "TurnCompleted", creditsAvailableAfter: debits.rows[0]!.balance_after });
  } finally {
    await setEnforcement(null);
  }
  expect(await invariantViolations(sql)).toEqual([]);
});

test("more than ten walletEvents streams on one instance do not make Node warn of a listener leak: each listens for the feed's close until it ends", async () => {
  const user = await newUser();
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
  process.on("warning", onWarning);
  const streams = Array.from({ length: 12 }, () => subscribe(a.graphqlUrl, user.token, WalletEventsDocument, {}, (data) => data.walletEvents));
  try {
    await until(() => a.runtime.walletEvents.subscriberCount, (count) => count >= 12, 5_000);
    // A warning is emitted on the next tick after the listener that crossed the limit.
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.filter((warning) => warning.startsWith("MaxListenersExceededWarning"))).toEqual([]);
  } finally {
    process.off("warning", onWarning);
    for (const stream of streams) {
      stream.done.catch(() => undefined); // closing aborts the request
      stream.close();
    }
  }
  await until(() => a.runtime.walletEvents.subscriberCount, (count) => count === 0, 5_000);
});

test("low balance: one event per crossing, even when concurrent debits cross together; re-armed by a grant; to walletEvents subscribers and a signed webhook retried with backoff until it accepts", async () => {
  const user = await newUser();
  const council = await createCouncil(user.on(a), "ROUNDTABLE", [["ada", "QWEN"]]);
  const other = await newUser();
  expect(dataOf(await user.on(a)(WalletDocument)).viewer!.wallet).toMatchObject({ lowBalanceThreshold: "49.5000", lowBalance: false });
  const live = subscribe(b.graphqlUrl, user.token, WalletEventsDocument, {}, (data) => data.walletEvents);
  const resumed = subscribe(a.graphqlUrl, user.token, WalletEventsDocument, { afterId: "0" }, (data) => data.walletEvents);
  const unrelated = subscribe(a.graphqlUrl, other.token, WalletEventsDocument, { afterId: "0" }, (data) => data.walletEvents);
  // The live stream sees what commits once its instance's feed is reading (within a second).
  await new Promise((resolve) => setTimeout(resolve, 1_500));

  const row = qwenLedgerRow(user.id, council);
  const perCall = new Decimal(row.credits_burned);
  const debit = async (count: number) => {
    await Promise.all(
      Array.from({ length: count }, async () => {
        const statement = ledgerInsertSql([qwenLedgerRow(user.id, council)]);
        await sql.query(statement.text, statement.values);
      }),
    );
  };
  const settled = async () => {
    const { rows } = await sql.query("SELECT (allowance + granted)::text AS settled, low_balance_since FROM credit_wallets WHERE user_id = $1", [user.id]);
    return { settled: new Decimal(rows[0].settled), low: rows[0].low_balance_since !== null };
  };
  // 2.5 calls above the line: six concurrent calls cross it once.
  await adjust(user.id, "ADJUSTMENT", new Decimal("49.5").add(perCall.mul(2.5)).sub(495).toFixed(4));
  expect((await settled()).low).toBe(false);
  flakyFirstEvent.set(user.id, { eventId: null, left: 2 });
  await debit(6);
  expect((await settled()).low).toBe(true);
  await debit(2); // further below: no new crossing
  await adjust(user.id, "GRANT", perCall.mul(10).toFixed(4)); // back above: re-armed
  expect((await settled()).low).toBe(false);
  await debit(12);
  expect((await settled()).low).toBe(true);

  const { rows: stored } = await sql.query("SELECT id::text, balance::text, threshold::text FROM wallet_events WHERE user_id = $1 ORDER BY id", [user.id]);
  expect(stored).toHaveLength(2);
  for (const event of stored) expect(new Decimal(event.balance).lt(event.threshold)).toBe(true);

  const ids = stored.map((event) => event.id);
  await until(() => live.received.length + resumed.received.length, (count) => count >= 4);
  for (const stream of [live, resumed]) {
    expect(stream.received.map((event) => event.id)).toEqual(ids);
    expect(stream.received[0]).toMatchObject({ kind: "LOW_BALANCE", threshold: "49.5000", plan: "starter", balance: stored[0].balance });
  }
  expect(unrelated.received).toEqual([]);
  expect(a.runtime.walletEvents.subscriberCount + b.runtime.walletEvents.subscriberCount).toBe(3);
  for (const stream of [live, resumed, unrelated]) {
    stream.done.catch(() => undefined); // closing aborts the request
    stream.close();
  }
  // A client that leaves while no event is due is dropped at once (and the feed stops reading).
  await until(() => a.runtime.walletEvents.subscriberCount + b.runtime.walletEvents.subscriberCount, (count) => count === 0, 5_000);

  // The receiver refuses the first event it is sent twice: three POSTs, then delivered; the other is delivered at once.
  // Both events may be claimed on one tick, so either can reach the receiver first.
  const { rows: state } = await until(
    () => sql.query("SELECT id::text, webhook_attempts, webhook_delivered_at IS NOT NULL AS delivered FROM wallet_events WHERE user_id = $1 ORDER BY id", [user.id]),
    (result) => result.rows.every((event) => event.delivered),
  );
  await new Promise((resolve) => setTimeout(resolve, 1_500)); // both instances send: nothing arrives twice
  const mine = deliveries.filter((delivery) => ids.includes(delivery.eventId));
  const refusedId = flakyFirstEvent.get(user.id)!.eventId;
  expect(ids).toContain(refusedId);
  const first = mine.filter((delivery) => delivery.eventId === refusedId);
  const second = mine.filter((delivery) => delivery.eventId !== refusedId);
  expect(first.map((delivery) => delivery.answered)).toEqual([500, 500, 204]);
  expect(second.map((delivery) => delivery.answered)).toEqual([204]);
  expect(state.map((event) => event.webhook_attempts)).toEqual(ids.map((id) => (id === refusedId ? 3 : 1)));
  // Backoff: the base, then twice it (±10% jitter; claims are made on a 1 s tick).
  expect(first[1]!.at - first[0]!.at).toBeGreaterThanOrEqual(RETRY_BASE_MS * 0.9 - 50);
  expect(first[2]!.at - first[1]!.at).toBeGreaterThanOrEqual(RETRY_BASE_MS * 2 * 0.9 - 50);
  for (const delivery of mine) {
    const expected = `sha256=${createHmac("sha256", WEBHOOK_SECRET).update(`${delivery.timestamp}.${delivery.body}`).digest("hex")}`;
    expect(delivery.signature).toBe(expected);
    expect(JSON.parse(delivery.body)).toMatchObject({ id: delivery.eventId, type: "wallet.low_balance", data: { userId: user.id, threshold: "49.5000", plan: "starter" } });
  }
  expect(new Set(first.map((delivery) => delivery.body)).size).toBe(1);
  expect(await invariantViolations(sql)).toEqual([]);
}, 60_000);

test("owners move a plan's low-balance line, audited; a wallet crossing the new line raises its event; others are refused", async () => {
  expect(dataOf(await analyst(CreditPlansDocument)).creditPlans).toEqual([
    { plan: "STARTER", monthlyAllowance: "495.0000", lowBalanceThreshold: "49.5000" },
    { plan: "PRO", monthlyAllowance: "1980.0000", lowBalanceThreshold: "198.0000" },
    { plan: "POWER", monthlyAllowance: "4180.0000", lowBalanceThreshold: "418.0000" },
  ]);
  const setLine = (threshold: string) => owner(SetLowBalanceThresholdDocument, { input: { plan: "STARTER", threshold } });
  const user = await newUser();
  const council = await createCouncil(user.on(a), "ROUNDTABLE", [["ada", "QWEN"]]);
  try {
    expect(dataOf(await setLine("400")).setLowBalanceThreshold).toMatchObject({ __typename: "SetLowBalanceThresholdSuccess", plan: { plan: "STARTER", lowBalanceThreshold: "400.0000" } });
    const perCall = new Decimal(qwenLedgerRow(user.id, council).credits_burned);
    await adjust(user.id, "ADJUSTMENT", perCall.mul(1.5).sub(95).toFixed(4)); // 1.5 calls above the new line
    const statement = ledgerInsertSql([qwenLedgerRow(user.id, council), qwenLedgerRow(user.id, council), qwenLedgerRow(user.id, council)]);
    await sql.query(statement.text, statement.values);
    const wallet = dataOf(await user.on(b)(WalletDocument)).viewer!.wallet;
    expect(new Decimal(wallet.allowance).add(wallet.granted).lt(400)).toBe(true);
    expect(wallet).toMatchObject({ lowBalance: true, lowBalanceThreshold: "400.0000" });
    expect((await sql.query("SELECT threshold::text FROM wallet_events WHERE user_id = $1", [user.id])).rows).toEqual([{ threshold: "400.0000" }]);
    expect(dataOf(await setLine("-1")).setLowBalanceThreshold.__typename).toBe("ValidationError");
    for (const client of [user.on(a), analyst]) expect((await client(SetLowBalanceThresholdDocument, { input: { plan: "STARTER", threshold: "1" } })).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  } finally {
    await setLine("49.5");
  }
  const { rows } = await sql.query("SELECT before, after FROM admin_audit_log WHERE action = 'credits.setLowBalanceThreshold' ORDER BY created_at");
  expect(rows).toEqual([
    { before: { lowBalanceThreshold: "49.5000" }, after: { lowBalanceThreshold: "400.0000" } },
    { before: { lowBalanceThreshold: "400.0000" }, after: { lowBalanceThreshold: "49.5000" } },
  ]);
});
