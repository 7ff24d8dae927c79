// The daily rollup and activity tables reconcile exactly with the raw ledger
// whatever the writes look like (multi-row statements, the real ledger writer,
// retried request ids, concurrent writers, rollbacks, UTC midnight, detached
// rooms); and active-user counts on a constructed calendar over real HTTP.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ActiveUsersDocument } from "./generated/graphql.ts";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { dataOf, graphqlClient } from "./support/graphqlClient.ts";
import { signTestToken } from "./fixtures/users.ts";
import { insertLedgerRows, insertUserWithScopes, ledgerRow, recordCallIn } from "./fixtures/ledger.ts";
import { createDb, type DbHandle } from "../src/db.ts";
import type { ProviderAttempt } from "../src/llm/types.ts";

let database: TestDatabase;
let sql: pg.Client;
let db: DbHandle;

beforeAll(async () => {
  database = await createMigratedDatabase("usage_rollup");
  sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
  db = createDb({ poolUrl: database.url, poolMax: 8 });
});
afterAll(async () => {
  await db?.close();
  await sql?.end();
  await database?.drop();
});

/** Rollup rows that differ from the ledger aggregated here, in either direction. */
async function rollupDrift() {
  const { rows } = await sql.query(`
    WITH ledger AS (
      SELECT (created_at AT TIME ZONE 'UTC')::date AS day, user_id, model_alias, pricing_version,
             count(*) AS calls, count(*) FILTER (WHERE status <> 'success') AS error_calls,
             sum(input_tokens_fresh) AS fresh, sum(input_tokens_cached) AS cached, sum(output_tokens) AS output,
             sum(total_tokens) AS total, sum(oe_tokens_computed) AS oe, sum(provider_cost_usd) AS cost, sum(credits_burned) AS credits
        FROM llm_call_events GROUP BY 1, 2, 3, 4),
    rollup AS (
      SELECT day, user_id, model_alias, pricing_version, calls, error_calls, input_tokens_fresh AS fresh, input_tokens_cached AS cached,
             output_tokens AS output, total_tokens AS total, oe_tokens AS oe, provider_cost_usd AS cost, credits_burned AS credits
        FROM usage_daily_rollups)
    (SELECT 'missing from rollup' AS problem, * FROM ledger EXCEPT SELECT 'missing from rollup', * FROM rollup)
    UNION ALL
    (SELECT 'not in ledger', * FROM rollup EXCEPT SELECT 'not in ledger', * FROM ledger)`);
  const { rows: activity } = await sql.query(`
    (SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date AS day, user_id FROM llm_call_events EXCEPT SELECT day, user_id FROM user_activity_days)
    UNION ALL
    (SELECT day, user_id FROM user_activity_days EXCEPT SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date, user_id FROM llm_call_events)`);
  return { rollup: rows, activity };
}

function attempt(overrides: Partial<ProviderAttempt> = {}): ProviderAttempt {
  return {
    provider: "openrouter", modelAlias: "qwen", providerModel: "qwen/qwen3-235b-a22b", callKind: "agent", status: "success", text: "ok",
    usage: { promptTokens: 1200, cachedTokens: 200, completionTokens: 300, totalTokens: 1500, costUsd: "0.00042" },
    requestId: `gen-${randomUUID()}`, latencyMs: 812, errorMessage: null, retryable: false, retryAfterSeconds: null, ...overrides,
  } as ProviderAttempt;
}

describe("usage_daily_rollups and user_activity_days", () => {
  test("reconcile exactly with the ledger after every kind of write", async () => {
    const userId = randomUUID();
    const scopes = await insertUserWithScopes(sql, userId);
    const midnight = new Date("2026-07-02T00:00:00Z");
    await insertLedgerRows(sql, [
      ledgerRow({ userId, createdAt: new Date(midnight.getTime() - 1), modelAlias: "premium", cached: 900, roomId: scopes.roomId, sessionId: scopes.sessionId }),
      ledgerRow({ userId, createdAt: midnight, modelAlias: "premium", status: "timeout", latencyMs: null, directSessionId: scopes.directSessionId }),
      ledgerRow({ userId, createdAt: midnight, modelAlias: "llama", pricingVersion: "2026-06-01" }),
    ]);
    const attribution = { userId, scope: { kind: "room" as const, roomId: scopes.roomId, sessionId: scopes.sessionId }, turnId: scopes.turnId, stepId: null, agentId: scopes.agentId, turnMode: "roundtable" };
    const retried = attempt();
    const first = await db.prisma.$transaction((tx) => recordCallIn(tx, attribution, retried));
    const again = await db.prisma.$transaction((tx) => recordCallIn(tx, attribution, retried));
    expect([first.inserted, again.inserted]).toEqual([true, false]);
    await Promise.all(Array.from({ length: 12 }, (_, i) => db.prisma.$transaction((tx) => recordCallIn(tx, attribution, attempt({ status: i % 4 === 0 ? "error" : "success" })))));
    await db.prisma.$transaction(async (tx) => {
      await recordCallIn(tx, attribution, attempt({ modelAlias: "deepseek" }));
      throw new Error("the step failed after its call was recorded");
    }).catch(() => undefined);
    await sql.query("DELETE FROM rooms WHERE id = $1", [scopes.roomId]);

    expect(await rollupDrift()).toEqual({ rollup: [], activity: [] });
    const { rows } = await sql.query("SELECT model_alias, calls::int, error_calls::int FROM usage_daily_rollups WHERE user_id = $1 AND model_alias = 'qwen'", [userId]);
    expect(rows).toEqual([{ model_alias: "qwen", calls: 13, error_calls: 3 }]);
    expect((await sql.query("SELECT 1 FROM usage_daily_rollups WHERE model_alias = 'deepseek'")).rowCount).toBe(0);
    const { rows: days } = await sql.query("SELECT to_char(day, 'YYYY-MM-DD') AS day FROM user_activity_days WHERE user_id = $1 ORDER BY day", [userId]);
    expect(days.map((row) => row.day).slice(0, 2)).toEqual(["2026-07-01", "2026-07-02"]);
  });
});

describe("activeUsers on a constructed calendar", () => {
  let server: TestServer;
  const users = Array.from({ length: 6 }, () => randomUUID());
  const [u1, u2, u3, u4, u5, u6] = users as [string, string, string, string, string, string];
  // Who called when (UTC). Failed calls count as activity: the user made a call.
  const calendar: [string, string, string][] = [
    [u1, "2025-01-01T08:00:00Z", "success"], [u1, "2025-01-02T09:00:00Z", "success"], [u1, "2025-01-10T23:59:59Z", "success"], [u1, "2025-01-31T00:00:00Z", "success"],
    [u2, "2025-01-02T10:00:00Z", "success"], [u2, "2025-01-02T11:00:00Z", "error"], [u2, "2025-01-31T12:00:00Z", "success"],
    [u3, "2024-12-20T12:00:00Z", "success"],
    [u4, "2025-01-05T12:00:00Z", "rate_limited"],
    [u5, "2024-12-02T12:00:00Z", "success"],
    [u6, "2025-01-31T23:59:59.999Z", "success"], [u6, "2025-02-01T00:00:00Z", "success"],
  ];

  beforeAll(async () => {
    for (const user of users) await sql.query("INSERT INTO users (id) VALUES ($1)", [user]);
    await insertLedgerRows(sql, calendar.map(([userId, at, status]) => ledgerRow({ userId, createdAt: new Date(at), modelAlias: "qwen", status })));
    const owner = users[0]!;
    await sql.query("UPDATE users SET admin_role = 'owner' WHERE id = $1", [owner]);
    server = await startTestServer(database.url);
  });
  afterAll(async () => {
    await server?.close();
  });

  /** Brute force: for every day, the users with a call in the trailing window. */
  function bruteForce(from: string, days: number) {
    const activity = calendar.map(([user, at]) => ({ user, day: Date.parse(at.slice(0, 10)) }));
    const count = (day: number, window: number) => new Set(activity.filter((a) => a.day <= day && a.day > day - window * 86_400_000).map((a) => a.user)).size;
    return Array.from({ length: days }, (_, i) => {
      const day = Date.parse(from) + i * 86_400_000;
      return { day: new Date(day).toISOString().slice(0, 10), dau: count(day, 1), wau: count(day, 7), mau: count(day, 30) };
    });
  }

  test("every day of January matches the brute-force counts, with hand-checked edges", async () => {
    const client = graphqlClient(server.graphqlUrl, await signTestToken({ sub: users[0]! }));
    const report = dataOf(await client(ActiveUsersDocument, { range: { from: "2025-01-01T00:00:00Z", to: "2025-02-01T00:00:00Z" } })).activeUsers;
    expect(report.days.map(({ dauOverMau: _ratio, ...counts }) => counts)).toEqual(bruteForce("2025-01-01", 31));
    const byDay = Object.fromEntries(report.days.map((day) => [day.day, day]));
    expect(byDay["2025-01-01"]).toEqual({ day: "2025-01-01", dau: 1, wau: 1, mau: 2, dauOverMau: "0.5000" });
    expect(byDay["2025-01-02"]).toEqual({ day: "2025-01-02", dau: 2, wau: 2, mau: 3, dauOverMau: "0.6667" });
    expect([byDay["2025-01-18"]!.mau, byDay["2025-01-19"]!.mau]).toEqual([4, 3]);
    expect(byDay["2025-01-31"]).toEqual({ day: "2025-01-31", dau: 3, wau: 3, mau: 4, dauOverMau: "0.7500" });
    expect(report).toMatchObject({ distinctUsers: 4, averageDau: "0.2581" });
  });

  test("a range starting mid-calendar still looks back 29 days; a quiet range is all zeros", async () => {
    const client = graphqlClient(server.graphqlUrl, await signTestToken({ sub: users[0]! }));
    const mid = dataOf(await client(ActiveUsersDocument, { range: { from: "2025-01-18T00:00:00Z", to: "2025-01-20T00:00:00Z" } })).activeUsers;
    expect(mid.days.map(({ dauOverMau: _ratio, ...counts }) => counts)).toEqual(bruteForce("2025-01-18", 2));
    const quiet = dataOf(await client(ActiveUsersDocument, { range: { from: "2020-06-01T00:00:00Z", to: "2020-06-03T00:00:00Z" } })).activeUsers;
    expect(quiet).toMatchObject({ distinctUsers: 0, averageDau: "0.0000" });
    expect(quiet.days).toEqual([
      { day: "2020-06-01", dau: 0, wau: 0, mau: 0, dauOverMau: "0.0000" },
      { day: "2020-06-02", dau: 0, wau: 0, mau: 0, dauOverMau: "0.0000" },
    ]);
  });
});
