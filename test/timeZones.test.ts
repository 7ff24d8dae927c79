// Every timestamp parameter means one instant, whatever the database's time
// zone (here UTC+14) and the server's (here Los Angeles): report ranges,
// ledger filters and admin reports count exactly the rows SQL counts with
// explicit UTC instants, and a row exactly at `from` is in.
process.env.TZ = "America/Los_Angeles";

import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { AdminUsageDocument, ViewerLedgerDocument, ViewerUsageDocument } from "./generated/graphql.ts";
import { adminQuery, createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { dataOf, graphqlClient, type GraphQLClient } from "./support/graphqlClient.ts";
import { signTestToken } from "./fixtures/users.ts";
import { insertLedgerRows, insertUserWithScopes, ledgerRow, type LedgerFixture } from "./fixtures/ledger.ts";
import { utcTimestamptz } from "../src/db/utcInstantAdapter.ts";

const run = promisify(execFile);
const DAY = 86_400_000;
const FROM = new Date("2026-01-10T00:00:00Z");
const TO = new Date(FROM.getTime() + 61 * DAY);
const WINDOW = { from: new Date("2026-02-03T07:00:00Z"), to: new Date("2026-02-03T09:00:00Z") };

let database: TestDatabase;
let server: TestServer;
let sql: pg.Client;
let viewer: GraphQLClient;
let owner: GraphQLClient;
const userId = randomUUID();
const ownerId = randomUUID();
let rows: LedgerFixture[];

beforeAll(async () => {
  database = await createMigratedDatabase("time_zones");
  await adminQuery(`ALTER DATABASE "${database.name}" SET timezone TO 'Pacific/Kiritimati'`);
  sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
  expect((await sql.query<{ TimeZone: string }>("SHOW timezone")).rows[0]).toEqual({ TimeZone: "Pacific/Kiritimati" });
  const scopes = await insertUserWithScopes(sql, userId);
  const at = (time: number) => ledgerRow({ userId, createdAt: new Date(time), modelAlias: "qwen", roomId: scopes.roomId, sessionId: scopes.sessionId });
  rows = [
    at(FROM.getTime()), // exactly at `from`: in
    at(FROM.getTime() - 1), // a millisecond before: out
    at(TO.getTime()), // exactly at `to`: out
    ...Array.from({ length: 25 }, (_, i) => at(FROM.getTime() + (i + 1) * 2 * DAY + i * 3_600_000)),
    ...Array.from({ length: 5 }, (_, i) => at(WINDOW.from.getTime() + i * 20 * 60_000)), // 07:00 … 08:20 UTC
    at(WINDOW.to.getTime()), // 09:00: out of the window
  ];
  await insertLedgerRows(sql, rows);
  server = await startTestServer(database.url);
  viewer = graphqlClient(server.graphqlUrl, await signTestToken({ sub: userId }));
  await run("npm", ["run", "--silent", "admin", "--", "grant", "--user", ownerId, "--role", "owner", "--actor", "ops:test"], { env: { ...process.env, DATABASE_URL: database.url } });
  owner = graphqlClient(server.graphqlUrl, await signTestToken({ sub: ownerId }));
});

afterAll(async () => {
  await sql?.end();
  await server?.close();
  await database?.drop();
});

async function sqlCount(from: Date, to: Date): Promise<number> {
  const { rows: counted } = await sql.query<{ calls: number }>(
    "SELECT count(*)::int AS calls FROM llm_call_events WHERE user_id = $1 AND created_at >= $2::timestamptz AND created_at < $3::timestamptz",
    [userId, from.toISOString(), to.toISOString()],
  );
  return counted[0]!.calls;
}

test("a 61-day viewer.usage window counts what SQL counts, the row at `from` included", async () => {
  const expected = await sqlCount(FROM, TO);
  expect(expected).toBe(rows.filter((row) => row.createdAt >= FROM && row.createdAt < TO).length);
  const report = dataOf(await viewer(ViewerUsageDocument, { filter: { from: FROM.toISOString(), to: TO.toISOString() } })).viewer!.usage;
  expect(report.totals.calls).toBe(expected);
  const repriced = dataOf(await viewer(ViewerUsageDocument, { filter: { from: FROM.toISOString(), to: TO.toISOString() }, pricingVersion: "2026-02-20" })).viewer!.usage;
  expect(repriced.totals.calls).toBe(expected);
});

test("an llmCallEvents filter [07:00, 09:00) UTC returns exactly the rows in it", async () => {
  const page = dataOf(await viewer(ViewerLedgerDocument, { first: 50, filter: { from: WINDOW.from.toISOString(), to: WINDOW.to.toISOString() } })).viewer!.llmCallEvents;
  expect(page.edges).toHaveLength(5);
  expect(page.edges.map((edge) => edge.node.createdAt).sort()).toEqual(
    Array.from({ length: 5 }, (_, i) => new Date(WINDOW.from.getTime() + i * 20 * 60_000).toISOString()),
  );
});

test("a repriced adminUsage over whole UTC days counts what SQL counts", async () => {
  const range = { from: FROM.toISOString(), to: TO.toISOString() };
  const expected = await sqlCount(FROM, TO);
  for (const pricingVersion of [undefined, "2026-02-20"]) {
    const report = dataOf(await owner(AdminUsageDocument, { range, pricingVersion, by: "CREDITS", first: 5 })).adminUsage;
    expect(report.totals.calls).toBe(expected);
  }
});

test.each([
  ["2026-02-03 21:00:00+14", "2026-02-03T07:00:00.000+00:00"],
  ["2026-06-30 22:17:04.123456+05:30", "2026-06-30T16:47:04.123+00:00"],
  ["2026-06-30 10:47:04-06", "2026-06-30T16:47:04.000+00:00"],
  ["1900-01-01 00:00:00+00:19:32", "1899-12-31T23:40:28.000+00:00"],
  ["infinity", "infinity"],
])("timestamptz %s is read as the instant %s", (text, instant) => {
  expect(utcTimestamptz(text)).toBe(instant);
});
