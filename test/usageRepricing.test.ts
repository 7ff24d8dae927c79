// Repricing: credits recomputed from stored token counts under another
// pricing version, per row with the ledger's rounding, rows untouched.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { AdminUsageDocument, RoomUsageDocument, ViewerUsageDocument } from "./generated/graphql.ts";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { dataOf, graphqlClient, type GraphQLClient } from "./support/graphqlClient.ts";
import { signTestToken } from "./fixtures/users.ts";
import { insertLedgerRows, insertUserWithScopes, ledgerRow, type LedgerFixture, type UserScopes } from "./fixtures/ledger.ts";

const DAY = new Date("2026-04-10T00:00:00Z");
const range = { from: DAY.toISOString(), to: new Date(DAY.getTime() + 86_400_000).toISOString() };

let database: TestDatabase;
let server: TestServer;
let sql: pg.Client;
let user: GraphQLClient;
let scopes: UserScopes;
const userId = randomUUID();

// Credits by hand: OE = fresh × 0.35 + cached × 0.10 + output; credits = OE / 10,000 × max(m, 0.5), rounded per row to 4 places.
//                                              OE        2026-02-20             2026-06-01
// premium  fresh 1000  cached 2000 output 500  1050      × 14   = 1.4700         × 12   = 1.2600
// qwen     fresh 12345 cached 0    output 678  4998.75   × 0.5  = 0.2499(375)    × 0.75 = 0.3749(0625)
// llama    fresh 3     cached 7    output 1    2.75      × 0.5  = 0.0001(375)    × 0.40 → 0.5 = 0.0001(375)   (four such rows)
// gpt_oss  fresh 800 (failed call)             280       × 0.5  = 0.0140         × 0.45 → 0.5 = 0.0140
// deepseek fresh 10000 cached 5000 output 2000 6000      × 1    = 0.6000         × 1    = 0.6000
// Totals: as charged 1.47 + 0.2499 + 4 × 0.0001 + 0.014 + 0.6 = 2.3343; repriced 1.26 + 0.3749 + 0.0004 + 0.014 + 0.6 = 2.2493.
// (Repricing summed OE instead of each row would give llama 0.0006 and 2.2495 in total: per-row rounding shows.)
const AS_CHARGED = { total: "2.3343", premium: "1.4700", qwen: "0.2499", llama: "0.0004", gpt_oss: "0.0140", deepseek: "0.6000" };
const REPRICED = { total: "2.2493", premium: "1.2600", qwen: "0.3749", llama: "0.0004", gpt_oss: "0.0140", deepseek: "0.6000" };

function rows(): LedgerFixture[] {
  const at = (minute: number) => new Date(DAY.getTime() + minute * 60_000);
  const base = { userId, roomId: scopes.roomId, sessionId: scopes.sessionId };
  return [
    ledgerRow({ ...base, createdAt: at(1), modelAlias: "premium", fresh: 1000, cached: 2000, output: 500 }),
    ledgerRow({ ...base, createdAt: at(2), modelAlias: "qwen", fresh: 12345, cached: 0, output: 678 }),
    ...[3, 4, 5, 6].map((minute) => ledgerRow({ ...base, createdAt: at(minute), modelAlias: "llama", fresh: 3, cached: 7, output: 1 })),
    ledgerRow({ ...base, createdAt: at(7), modelAlias: "gpt_oss", fresh: 800, cached: 0, output: 0, status: "error" }),
    ledgerRow({ ...base, createdAt: at(8), modelAlias: "deepseek", fresh: 10000, cached: 5000, output: 2000 }),
  ];
}

const snapshot = async () => (await sql.query("SELECT * FROM llm_call_events ORDER BY id")).rows;

beforeAll(async () => {
  database = await createMigratedDatabase("usage_repricing");
  server = await startTestServer(database.url);
  sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
  scopes = await insertUserWithScopes(sql, userId);
  await insertLedgerRows(sql, rows());
  await sql.query("UPDATE users SET admin_role = 'analyst' WHERE id = $1", [userId]);
  user = graphqlClient(server.graphqlUrl, await signTestToken({ sub: userId }));
});
afterAll(async () => {
  await sql?.end();
  await server?.close();
  await database?.drop();
});

const creditsByModel = (groups: { modelAlias?: string | null; totals: { credits: string } }[]) =>
  Object.fromEntries(groups.map((group) => [group.modelAlias, group.totals.credits]));

describe("repricing", () => {
  test("as charged: the stored credits, hand-computed", async () => {
    const report = dataOf(await user(ViewerUsageDocument, { filter: range, groupBy: ["MODEL_ALIAS"] })).viewer!.usage;
    expect(report).toMatchObject({ repriced: false, pricingVersions: ["2026-02-20"] });
    expect({ total: report.totals.credits, ...creditsByModel(report.groups) }).toEqual(AS_CHARGED);
  });

  test("under 2026-06-01: credits recomputed per row from token counts; stored rows unchanged", async () => {
    const before = await snapshot();
    const report = dataOf(await user(ViewerUsageDocument, { filter: range, groupBy: ["MODEL_ALIAS"], pricingVersion: "2026-06-01" })).viewer!.usage;
    expect(report).toMatchObject({ repriced: true, pricingVersions: ["2026-06-01"] });
    expect({ total: report.totals.credits, ...creditsByModel(report.groups) }).toEqual(REPRICED);
    expect(report.totals.oeTokens).toBe("12339.7500");
    expect(await snapshot()).toEqual(before);
  });

  test("repricing under the current version reproduces the stored credits", async () => {
    const report = dataOf(await user(RoomUsageDocument, { id: scopes.roomId, pricingVersion: "2026-02-20" })).room!.usage;
    expect(report).toMatchObject({ repriced: true, pricingVersions: ["2026-02-20"] });
    expect(report.totals.credits).toBe(AS_CHARGED.total);
  });

  test("admin reports reprice the same way (from the ledger) and agree as charged (from the rollup)", async () => {
    const charged = dataOf(await user(AdminUsageDocument, { range, by: "CREDITS" })).adminUsage!;
    expect(charged).toMatchObject({ repriced: false, pricingVersions: ["2026-02-20"] });
    expect({ total: charged.totals.credits, ...creditsByModel(charged.topModels.map((entry) => ({ modelAlias: entry.modelAlias, totals: entry }))) }).toEqual(AS_CHARGED);
    const repriced = dataOf(await user(AdminUsageDocument, { range, by: "CREDITS", pricingVersion: "2026-06-01" })).adminUsage!;
    expect(repriced).toMatchObject({ repriced: true, pricingVersions: ["2026-06-01"] });
    expect({ total: repriced.totals.credits, ...creditsByModel(repriced.topModels.map((entry) => ({ modelAlias: entry.modelAlias, totals: entry }))) }).toEqual(REPRICED);
    expect(repriced.topModels.map((entry) => entry.modelAlias)).toEqual(["premium", "deepseek", "qwen", "gpt_oss", "llama"]);
  });
});
