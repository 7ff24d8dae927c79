// Benchmark: an authenticated `rooms(first: 20) { ... agents { agentKey name } }`
// for a user with 20 rooms x 3 agents, against the full server (auth, gates,
// armor on) and, in the same run, a minimal graphql-yoga server answering the
// same JSON from one hand-written SQL query. Targets: >= 70% of the
// baseline's requests/s, p99 <= 50 ms.
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import autocannon from "autocannon";
import { createSchema, createYoga } from "graphql-yoga";
import pg from "pg";
import { createMigratedDatabase } from "../test/support/database.ts";
import { startTestServer } from "../test/support/server.ts";
import { signTestToken } from "../test/fixtures/users.ts";
import { seedRoomsWithAgents } from "../test/fixtures/seed.ts";

const CONNECTIONS = 50;
const DURATION_S = 10;
const WARMUP_S = 2;
const POOL_MAX = "10";
const TARGET_RATIO = 0.7;
const TARGET_P99_MS = 50;

const QUERY = "query Rooms { rooms(first: 20) { edges { node { id name agents { agentKey name } } } } }";

const BASELINE_SQL = `
  SELECT r.id, r.name,
    coalesce((SELECT json_agg(json_build_object('agentKey', a.agent_key, 'name', a.name) ORDER BY ra.position)
              FROM room_agents ra JOIN agents a ON a.id = ra.agent_id AND a.deleted_at IS NULL
              WHERE ra.room_id = r.id), '[]') AS agents
  FROM rooms r WHERE r.owner_id = $1 AND r.deleted_at IS NULL
  ORDER BY r.created_at DESC, r.id DESC LIMIT 20`;

function startBaseline(databaseUrl: string, ownerId: string): Promise<{ url: string; close(): Promise<void> }> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: Number(POOL_MAX) });
  const yoga = createYoga({
    logging: false,
    schema: createSchema({
      typeDefs: `type Agent { agentKey: String! name: String! }
        type Room { id: ID! name: String! agents: [Agent!]! }
        type RoomEdge { node: Room! } type RoomConnection { edges: [RoomEdge!]! }
        type Query { rooms(first: Int): RoomConnection! }`,
      resolvers: { Query: { rooms: async () => ({ edges: (await pool.query(BASELINE_SQL, [ownerId])).rows.map((node) => ({ node })) }) } },
    }),
  });
  const server: Server = createServer(yoga);
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}/graphql`,
        close: async () => {
          server.closeAllConnections();
          await new Promise((done) => server.close(done));
          await pool.end();
        },
      });
    }),
  );
}

async function load(url: string, token: string | null, duration: number) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  return autocannon({ url, method: "POST", headers, body: JSON.stringify({ query: QUERY }), connections: CONNECTIONS, duration });
}

async function measure(label: string, url: string, token: string | null) {
  await load(url, token, WARMUP_S);
  const result = await load(url, token, DURATION_S);
  const failures = result.non2xx + result.errors + result.timeouts;
  console.log(`${label.padEnd(9)} ${result.requests.average.toFixed(0).padStart(6)} req/s  p50 ${result.latency.p50} ms  p99 ${result.latency.p99} ms  failures ${failures}`);
  return result;
}

/** Checks both servers return the same JSON before measuring anything. */
async function sameAnswer(fullUrl: string, baselineUrl: string, token: string): Promise<void> {
  const ask = async (url: string, auth?: string) =>
    (await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...(auth ? { authorization: `Bearer ${auth}` } : {}) }, body: JSON.stringify({ query: QUERY }) })).text();
  const [full, baseline] = [await ask(fullUrl, token), await ask(baselineUrl)];
  if (full !== baseline) throw new Error(`the servers disagree:\nfull:     ${full.slice(0, 300)}\nbaseline: ${baseline.slice(0, 300)}`);
}

export async function runRoomsBench(): Promise<void> {
  const database = await createMigratedDatabase("bench_rooms");
  const ownerId = randomUUID();
  const full = await startTestServer(database.url, { DATABASE_POOL_MAX: POOL_MAX, APP_ENV: "test" });
  const baseline = await startBaseline(database.url, ownerId);
  try {
    await seedRoomsWithAgents(database.url, ownerId, 20, 3);
    const token = await signTestToken({ sub: ownerId });
    await sameAnswer(full.graphqlUrl, baseline.url, token);
    console.log(`rooms(first: 20) x 3 agents, autocannon ${CONNECTIONS} connections, ${DURATION_S} s each`);
    const base = await measure("baseline", baseline.url, null);
    const ours = await measure("full", full.graphqlUrl, token);
    const ratio = ours.requests.average / base.requests.average;
    const verdict = ratio >= TARGET_RATIO && ours.latency.p99 <= TARGET_P99_MS ? "meets" : "misses";
    console.log(`ratio ${(ratio * 100).toFixed(1)}% of baseline (target >= ${TARGET_RATIO * 100}%), p99 ${ours.latency.p99} ms (target <= ${TARGET_P99_MS} ms): ${verdict} the targets`);
  } finally {
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // let requests cut off at the deadline finish
    await baseline.close();
    await full.close();
    await database.drop();
  }
}
