// Admin analytics and controls over real HTTP: roles granted by the ops
// command, usage across users against the test's own sums, the rollup
// reconciling exactly with the ledger, active users on a constructed
// calendar, and the owner-only manager-model setting with its audit trail.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ActiveUsersDocument, AdminUsageDocument, SetOrchestratorManagerModelDocument, type UsageRanking } from "./generated/graphql.ts";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { dataOf, errorCodes, graphqlClient, type GraphQLClient } from "./support/graphqlClient.ts";
import { signTestToken } from "./fixtures/users.ts";
import { insertLedgerRows, ledgerRow, type LedgerFixture } from "./fixtures/ledger.ts";
import { expectedSums, groupRows, type ExpectedSums } from "./support/usageExpectations.ts";
import { MODEL_ALIASES } from "../src/llm/models.ts";

const run = promisify(execFile);
const FROM = new Date("2026-05-01T00:00:00Z");
const TO = new Date("2026-05-08T00:00:00Z");
const range = { from: FROM.toISOString(), to: TO.toISOString() };

let database: TestDatabase;
let server: TestServer;
let sql: pg.Client;
const ids = { owner: randomUUID(), analyst: randomUUID(), user: randomUUID(), revoked: randomUUID() };
const clients = {} as Record<keyof typeof ids, GraphQLClient>;
let usageRows: LedgerFixture[];

async function adminCli(args: string[]) {
  return run("npm", ["run", "--silent", "admin", "--", ...args], { env: { ...process.env, DATABASE_URL: database.url } }).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, output: error.stdout + error.stderr }),
  );
}

/** Three users' calls over a week, every model, some failed, some cached, plus rows just outside the range. */
function weekOfCalls(): LedgerFixture[] {
  const users = [ids.owner, ids.analyst, ids.user];
  const rows = Array.from({ length: 60 }, (_, i) =>
    ledgerRow({
      userId: users[i % 3]!,
      createdAt: new Date(FROM.getTime() + (i % 7) * 86_400_000 + i * 60_000),
      modelAlias: MODEL_ALIASES[(i * 2) % 5]!,
      fresh: 200 + 17 * i * (i % 3 === 0 ? 9 : 1),
      cached: i % 2 === 0 ? 0 : 50 * i,
      output: 10 + 7 * i,
      status: i % 8 === 1 ? "rate_limited" : "success",
      costUsd: (0.000013 * (i + 3) * ((i % 3) + 1)).toFixed(8),
    }),
  );
  return [...rows, ledgerRow({ userId: ids.user, createdAt: new Date(FROM.getTime() - 1), modelAlias: "premium" }), ledgerRow({ userId: ids.user, createdAt: TO, modelAlias: "premium" })];
}

beforeAll(async () => {
  database = await createMigratedDatabase("admin");
  sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
  for (const id of Object.values(ids)) await sql.query("INSERT INTO users (id) VALUES ($1)", [id]);
  expect((await adminCli(["grant", "--user", ids.owner, "--role", "owner", "--actor", "ops:test"])).code).toBe(0);
  expect((await adminCli(["grant", "--user", ids.analyst, "--role", "analyst"])).code).toBe(0);
  expect((await adminCli(["grant", "--user", ids.revoked, "--role", "analyst"])).code).toBe(0);
  expect((await adminCli(["revoke", "--user", ids.revoked])).code).toBe(0);
  usageRows = weekOfCalls();
  await insertLedgerRows(sql, usageRows);
  server = await startTestServer(database.url);
  for (const [name, id] of Object.entries(ids)) clients[name as keyof typeof ids] = graphqlClient(server.graphqlUrl, await signTestToken({ sub: id }));
}, 120_000);
afterAll(async () => {
  await sql?.end();
  await server?.close();
  await database?.drop();
});

describe("admin roles (ops command)", () => {
  test("grant and revoke change users.admin_role and are audit-logged with before and after", async () => {
    const { rows: users } = await sql.query("SELECT id, admin_role FROM users WHERE id = ANY($1)", [Object.values(ids)]);
    expect(Object.fromEntries(users.map((row) => [row.id, row.admin_role]))).toEqual({ [ids.owner]: "owner", [ids.analyst]: "analyst", [ids.user]: null, [ids.revoked]: null });
    const { rows: audit } = await sql.query("SELECT actor, action, target, before, after FROM admin_audit_log WHERE target = $1 ORDER BY created_at", [ids.revoked]);
    expect(audit.map(({ action, before, after }) => ({ action, before, after }))).toEqual([
      { action: "adminRole.grant", before: { adminRole: null }, after: { adminRole: "analyst" } },
      { action: "adminRole.revoke", before: { adminRole: "analyst" }, after: { adminRole: null } },
    ]);
    const [ownerGrant] = (await sql.query("SELECT actor FROM admin_audit_log WHERE target = $1", [ids.owner])).rows;
    expect(ownerGrant.actor).toBe("ops:test");
  });

  test("bad arguments are refused with usage; list shows the admins", async () => {
    const bad = await adminCli(["grant", "--user", "not-a-uuid", "--role", "root"]);
    expect(bad.code).toBe(2);
    expect(bad.output).toContain("usage: admin grant");
    const list = await adminCli(["list"]);
    expect(list.output).toContain(`${ids.owner}  owner`);
    expect(list.output).toContain("2 admin(s)");
  });
});

describe("role rules", () => {
  test.each(["adminUsage", "activeUsers", "setOrchestratorManagerModel"] as const)("an ordinary user gets FORBIDDEN on %s", async (field) => {
    const client = clients.user;
    const response =
      field === "adminUsage" ? await client(AdminUsageDocument, { range, by: "PROVIDER_COST" })
      : field === "activeUsers" ? await client(ActiveUsersDocument, { range })
      : await client(SetOrchestratorManagerModelDocument, { input: { modelAlias: "QWEN" } });
    expect(errorCodes(response)).toEqual(["FORBIDDEN"]);
    expect(response.data ?? null).toBeNull();
  });

  test("a revoked admin is an ordinary user again", async () => {
    expect(errorCodes(await clients.revoked(ActiveUsersDocument, { range }))).toEqual(["FORBIDDEN"]);
  });

  test("an analyst reads analytics but calling a write is FORBIDDEN, and nothing changes", async () => {
    expect(errorCodes(await clients.analyst(ActiveUsersDocument, { range }))).toEqual([]);
    expect(errorCodes(await clients.analyst(SetOrchestratorManagerModelDocument, { input: { modelAlias: "LLAMA" } }))).toEqual(["FORBIDDEN"]);
    expect((await sql.query("SELECT 1 FROM app_settings WHERE key = 'orchestrator_manager_model'")).rowCount).toBe(0);
  });
});

describe("setOrchestratorManagerModel (owner)", () => {
  test("writes the setting, re-checks Gate B, and audits before and after in the same transaction", async () => {
    const toLlama = dataOf(await clients.owner(SetOrchestratorManagerModelDocument, { input: { modelAlias: "LLAMA" } })).setOrchestratorManagerModel;
    expect(toLlama).toMatchObject({ __typename: "SetOrchestratorManagerModelSuccess", setting: { modelAlias: "LLAMA", structuredOutput: false, routingGateOpen: false } });
    expect(server.runtime.readiness.gate("routing").ok).toBe(false);
    const back = dataOf(await clients.owner(SetOrchestratorManagerModelDocument, { input: { modelAlias: "DEEPSEEK" } })).setOrchestratorManagerModel;
    expect(back).toMatchObject({ setting: { modelAlias: "DEEPSEEK", routingGateOpen: true, routingGateReasons: [] } });
    expect(server.runtime.readiness.gate("routing").ok).toBe(true);

    const { rows: setting } = await sql.query("SELECT value, updated_by FROM app_settings WHERE key = 'orchestrator_manager_model'");
    expect(setting).toEqual([{ value: { alias: "deepseek" }, updated_by: ids.owner }]);
    const { rows: audit } = await sql.query(
      "SELECT actor_id, action, before, after FROM admin_audit_log WHERE action = 'setOrchestratorManagerModel' ORDER BY created_at",
    );
    expect(audit).toEqual([
      { actor_id: ids.owner, action: "setOrchestratorManagerModel", before: null, after: { alias: "llama" } },
      { actor_id: ids.owner, action: "setOrchestratorManagerModel", before: { alias: "llama" }, after: { alias: "deepseek" } },
    ]);
  });
});

const RANK_VALUE: Record<UsageRanking, (sums: ExpectedSums) => number> = {
  PROVIDER_COST: (sums) => Number(sums.providerCostUsd),
  CREDITS: (sums) => Number(sums.credits),
  TOTAL_TOKENS: (sums) => sums.totalTokens,
};

function expectedRanking(rows: LedgerFixture[], keyOf: (row: LedgerFixture) => string[], by: UsageRanking) {
  return [...groupRows(rows, keyOf).entries()]
    .map(([key, group]) => ({ key: JSON.parse(key) as string[], sums: expectedSums(group) }))
    .sort((a, b) => RANK_VALUE[by](b.sums) - RANK_VALUE[by](a.sums) || a.key.join().localeCompare(b.key.join()));
}

describe("adminUsage", () => {
  const inRange = () => usageRows.filter((row) => row.createdAt >= FROM && row.createdAt < TO);
  const sumsOf = ({ calls, errorCount, inputTokensFresh, inputTokensCached, outputTokens, totalTokens, oeTokens, credits, providerCostUsd }: ExpectedSums) =>
    ({ calls, errorCount, inputTokensFresh, inputTokensCached, outputTokens, totalTokens, oeTokens, credits, providerCostUsd });

  test.each(["PROVIDER_COST", "CREDITS", "TOTAL_TOKENS"] as const)("totals, top users, top models and user × model ranked by %s equal the test's sums", async (by) => {
    const report = dataOf(await clients.analyst(AdminUsageDocument, { range, by, first: 20 })).adminUsage;
    expect(report).toMatchObject({ from: range.from, to: range.to, repriced: false, pricingVersions: ["2026-02-20"] });
    expect(report.totals).toEqual(expectedSums(inRange()));
    const users = expectedRanking(inRange(), (row) => [row.userId], by);
    expect(report.topUsers.map(({ userId, email, modelAlias, ...sums }) => ({ key: [userId], sums, email, modelAlias }))).toEqual(
      users.map(({ key, sums }) => ({ key, sums: sumsOf(sums), email: null, modelAlias: null })),
    );
    const models = expectedRanking(inRange(), (row) => [row.modelAlias], by);
    expect(report.topModels.map(({ modelAlias, ...entry }) => ({ key: [modelAlias], sums: sumsOf(entry as never) }))).toEqual(models.map(({ key, sums }) => ({ key, sums: sumsOf(sums) })));
    const pairs = expectedRanking(inRange(), (row) => [row.userId, row.modelAlias], by);
    expect(report.byUserAndModel.map(({ userId, modelAlias, email: _email, ...sums }) => ({ key: [userId, modelAlias], sums }))).toEqual(
      pairs.map(({ key, sums }) => ({ key, sums: sumsOf(sums) })),
    );
  });

  test("first limits the rankings; an empty range gives zeros and no entries", async () => {
    const top = dataOf(await clients.owner(AdminUsageDocument, { range, by: "PROVIDER_COST", first: 2 })).adminUsage;
    expect(top.topUsers).toHaveLength(2);
    const empty = dataOf(await clients.owner(AdminUsageDocument, { range: { from: "2020-01-01T00:00:00Z", to: "2020-01-02T00:00:00Z" }, by: "CREDITS" })).adminUsage;
    expect(empty.totals).toEqual({ calls: 0, errorCount: 0, inputTokensFresh: 0, inputTokensCached: 0, outputTokens: 0, totalTokens: 0, oeTokens: "0.0000", credits: "0.0000", providerCostUsd: "0.00000000" });
    expect([empty.topUsers, empty.topModels, empty.byUserAndModel, empty.pricingVersions]).toEqual([[], [], [], []]);
  });

  test.each([
    ["a range not on UTC midnights", { from: "2026-05-01T10:00:00Z", to: "2026-05-08T00:00:00Z" }],
    ["from after to", { from: range.to, to: range.from }],
    ["more than 366 days", { from: "2025-01-01T00:00:00Z", to: "2026-01-03T00:00:00Z" }],
  ])("%s is VALIDATION_FAILED", async (_name, badRange) => {
    expect(errorCodes(await clients.owner(AdminUsageDocument, { range: badRange, by: "CREDITS" }))).toEqual(["VALIDATION_FAILED"]);
    expect(errorCodes(await clients.owner(ActiveUsersDocument, { range: badRange }))).toEqual(["VALIDATION_FAILED"]);
  });
});
