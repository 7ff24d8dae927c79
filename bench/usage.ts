// Benchmark: usage reports on 1,000,000 ledger rows (1,000 users, 90 days)
// through the full GraphQL server (auth, gates, armor). Sequential requests,
// p50/p95 per query; then EXPLAIN (ANALYZE, BUFFERS) of every SQL statement
// the resolvers send. Targets: user queries p95 <= 20 ms, admin <= 250 ms.
// `npx tsx bench/usage.ts [--keep] [--database NAME]` runs it alone (--keep
// leaves the seeded database for another run with --database NAME);
// `npm run bench` runs every bench.
import { parseArgs } from "node:util";
import pg from "pg";
import type { Prisma } from "../src/generated/prisma/client.ts";
import { ADMIN_URL, createMigratedDatabase, type TestDatabase } from "../test/support/database.ts";
import { startTestServer } from "../test/support/server.ts";
import { signTestToken } from "../test/fixtures/users.ts";
import { benchUserId, seedUsage, type UsageSeed } from "./seedUsage.ts";
import { usageReportSql } from "../src/usage/userUsage.ts";
import { ledgerPageSql, viewerLedgerRows } from "../src/usage/ledgerPage.ts";
import { ROLLUP_SETTINGS, adminRankingSql } from "../src/usage/adminUsage.ts";
import { ACTIVE_USERS_SETTINGS, activeUsersSql, distinctActiveUsersSql } from "../src/usage/activeUsers.ts";
import { parseDayRange } from "../src/usage/range.ts";

const SEED: UsageSeed = { users: 1000, rows: 1_000_000, days: 90, roomsPerUser: 3, batchRows: 100_000 };
const WARMUP = 20;
const SAMPLES = 300;
const DAY_MS = 86_400_000;
const TARGETS = { user: 20, admin: 250 };

interface BenchQuery {
  name: string;
  kind: keyof typeof TARGETS;
  query: string;
  variables: Record<string, unknown>;
  /** Rotated per request, so one cached user does not flatter the figures. */
  asUser: (i: number) => number;
  statements: (userId: string) => Prisma.Sql[];
  /** SET LOCAL statements the resolver runs in the same transaction. */
  settings?: readonly string[];
}

function queries(now: Date): BenchQuery[] {
  const today = new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS);
  const thirtyDays = { from: new Date(now.getTime() - 30 * DAY_MS), to: now };
  const days = parseDayRange({ from: new Date(today.getTime() - 30 * DAY_MS), to: today });
  const dayRange = { from: days.from.toISOString(), to: days.to.toISOString() };
  const user = (i: number) => 2 + (i % 200);
  return [
    {
      name: "user: 30-day usage grouped by model", kind: "user", asUser: user,
      query: `query($f: UsageFilterInput!) { viewer { usage(filter: $f, groupBy: [MODEL_ALIAS]) { pricingVersions totals { calls credits providerCostUsd latencyP95Ms }
        groups { modelAlias totals { calls errorCount inputTokensFresh inputTokensCached outputTokens totalTokens oeTokens credits providerCostUsd latencyP50Ms latencyP95Ms } } } } }`,
      variables: { f: { from: thirtyDays.from.toISOString(), to: thirtyDays.to.toISOString() } },
      statements: (userId) => [usageReportSql({ kind: "viewer", userId, range: thirtyDays, filter: {} }, ["MODEL_ALIAS"], { kind: "asCharged" })],
    },
    {
      name: "user: ledger page of 50", kind: "user", asUser: user,
      query: `{ viewer { llmCallEvents(first: 50) { edges { cursor node { id createdAt modelAlias status stepKind roomId sessionId totalTokens credits providerCostUsd latencyMs } } pageInfo { hasNextPage endCursor } } } }`,
      variables: {},
      statements: (userId) => [ledgerPageSql({ rows: viewerLedgerRows(userId, {}, {}), first: 50, after: null })],
    },
    {
      name: "admin: top 20 users by cost, 30 days", kind: "admin", asUser: () => 1,
      query: `query($r: UsageRangeInput!) { adminUsage(range: $r) { topUsers(by: PROVIDER_COST, first: 20) { userId email providerCostUsd credits totalTokens calls } } }`,
      variables: { r: dayRange },
      statements: () => [adminRankingSql({ range: days, pricing: { kind: "asCharged" } }, "user", "PROVIDER_COST", 20)],
      settings: ROLLUP_SETTINGS,
    },
    {
      name: "admin: activeUsers, 30 days", kind: "admin", asUser: () => 1,
      query: `query($r: UsageRangeInput!) { activeUsers(range: $r) { distinctUsers averageDau days { day dau wau mau dauOverMau } } }`,
      variables: { r: dayRange },
      statements: () => [activeUsersSql(days), distinctActiveUsersSql(days)],
      settings: ACTIVE_USERS_SETTINGS,
    },
  ];
}

const percentile = (sorted: number[], q: number) => sorted[Math.ceil(q * sorted.length) - 1]!;

async function post(url: string, token: string, query: BenchQuery): Promise<number> {
  const started = performance.now();
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ query: query.query, variables: query.variables }) });
  const body = (await response.json()) as { errors?: unknown[] };
  const elapsed = performance.now() - started;
  if (body.errors) throw new Error(`${query.name}: ${JSON.stringify(body.errors)}`);
  return elapsed;
}

async function measure(url: string, tokens: Map<number, string>, query: BenchQuery) {
  for (let i = 0; i < WARMUP; i++) await post(url, tokens.get(query.asUser(i))!, query);
  const samples: number[] = [];
  for (let i = 0; i < SAMPLES; i++) samples.push(await post(url, tokens.get(query.asUser(i))!, query));
  samples.sort((a, b) => a - b);
  const [p50, p95] = [percentile(samples, 0.5), percentile(samples, 0.95)];
  const verdict = p95 <= TARGETS[query.kind] ? "meets" : "MISSES";
  console.log(`${query.name.padEnd(40)} p50 ${p50.toFixed(1).padStart(6)} ms  p95 ${p95.toFixed(1).padStart(6)} ms  (target p95 <= ${TARGETS[query.kind]} ms: ${verdict})`);
}

async function explain(client: pg.Client, query: BenchQuery) {
  for (const statement of query.statements(benchUserId(2))) {
    await client.query("BEGIN");
    for (const setting of query.settings ?? []) await client.query(setting);
    const { rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${statement.text}`, statement.values);
    await client.query("COMMIT");
    console.log(`\n-- ${query.name}\n${statement.text.replace(/\n\s*\n/g, "\n").trim()}\n${rows.map((row) => row["QUERY PLAN"]).join("\n")}`);
  }
}

export interface UsageBenchOptions {
  /** Reuse this already seeded database instead of creating one. */
  database?: string;
  keep?: boolean;
}

async function benchDatabase(options: UsageBenchOptions): Promise<{ database: TestDatabase; seeded: boolean }> {
  if (!options.database) return { database: await createMigratedDatabase("bench_usage"), seeded: false };
  const url = new URL(ADMIN_URL);
  url.pathname = `/${options.database}`;
  return { database: { name: options.database, url: url.toString(), drop: async () => undefined }, seeded: true };
}

export async function runUsageBench(options: UsageBenchOptions = {}): Promise<void> {
  const { database, seeded } = await benchDatabase(options);
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    if (!seeded) {
      console.log(`seeding ${SEED.rows.toLocaleString("en")} ledger rows for ${SEED.users} users over ${SEED.days} days`);
      await seedUsage(client, SEED, (line) => console.log(line));
      await client.query("UPDATE users SET admin_role = 'owner' WHERE id = $1", [benchUserId(1)]);
    }
    const { rows: [counts] } = await client.query(`SELECT (SELECT count(*) FROM llm_call_events) AS ledger, (SELECT count(*) FROM usage_daily_rollups) AS rollup, (SELECT count(*) FROM user_activity_days) AS activity`);
    console.log(`rows: ledger ${counts.ledger}, usage_daily_rollups ${counts.rollup}, user_activity_days ${counts.activity}`);
    const server = await startTestServer(database.url, { DATABASE_POOL_MAX: "10" });
    try {
      const all = queries(new Date());
      const userNumbers = new Set(all.flatMap((query) => Array.from({ length: SAMPLES }, (_, i) => query.asUser(i))));
      const tokens = new Map(await Promise.all([...userNumbers].map(async (n) => [n, await signTestToken({ sub: benchUserId(n) })] as const)));
      console.log(`\n${SAMPLES} sequential requests per query after ${WARMUP} warm-up, user queries rotate over 200 users`);
      for (const query of all) await measure(server.graphqlUrl, tokens, query);
      console.log("\nEXPLAIN (ANALYZE, BUFFERS) of each statement:");
      for (const query of all) await explain(client, query);
    } finally {
      await server.close();
    }
  } finally {
    await client.end();
    if (options.keep) console.log(`kept database ${database.name}`);
    else await database.drop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { keep: { type: "boolean" }, database: { type: "string" } } });
  await runUsageBench({ keep: values.keep, database: values.database });
}
