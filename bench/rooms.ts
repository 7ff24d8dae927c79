// Benchmark: an authenticated `rooms(first: 20) { ... agents { agentKey name } }`
// for a user with 20 rooms x 3 agents, against the full server (auth, gates,
// armor on) and, in the same run, a minimal graphql-yoga server answering the
// same JSON from one hand-written SQL query. Each server runs in its own
// process; autocannon runs in this one. Targets: >= 70% of the
// baseline's requests/s, p99 <= 50 ms.
import { randomUUID } from "node:crypto";
import { spawn } from "node:child_process";
import autocannon from "autocannon";
import { createMigratedDatabase } from "../test/support/database.ts";
import { freePort, startServerProcess } from "../test/support/serverProcess.ts";
import { signTestToken } from "../test/fixtures/users.ts";
import { seedRoomsWithAgents } from "../test/fixtures/seed.ts";

const CONNECTIONS = 50;
const DURATION_S = 10;
const WARMUP_S = 2;
const POOL_MAX = "10";
const TARGET_RATIO = 0.7;
const TARGET_P99_MS = 50;

const QUERY = "query Rooms { rooms(first: 20) { edges { node { id name agents { agentKey name } } } } }";

/** The baseline server (bench/roomsBaselineServer.ts) in its own process, like the full server. */
async function startBaseline(databaseUrl: string, ownerId: string): Promise<{ url: string; close(): Promise<void> }> {
  const port = await freePort();
  // The same Node flags as the full server (test/support/serverProcess.ts).
  const child = spawn(process.execPath, ["--max-semi-space-size=32", "--import", "tsx", "bench/roomsBaselineServer.ts", databaseUrl, ownerId, String(port), POOL_MAX], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => chunk.toString().includes("listening") && resolve());
    child.once("exit", (code) => reject(new Error(`the baseline server exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    close: async () => {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
    },
  };
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
  const full = await startServerProcess(database.url, { DATABASE_POOL_MAX: POOL_MAX });
  const baseline = await startBaseline(database.url, ownerId);
  try {
    await seedRoomsWithAgents(database.url, ownerId, 20, 3);
    const token = await signTestToken({ sub: ownerId });
    await sameAnswer(full.graphqlUrl, baseline.url, token);
    console.log(`rooms(first: 20) x 3 agents, autocannon ${CONNECTIONS} connections, ${DURATION_S} s each`);
    const base = await measure("baseline", baseline.url, null);
    const ours = await measure("full", full.graphqlUrl, token);
    const ratio = ours.requests.average / base.requests.average;
    console.log(`ratio ${(ratio * 100).toFixed(1)}% of baseline (target >= ${TARGET_RATIO * 100}%): ${ratio >= TARGET_RATIO ? "met" : "NOT met"}`);
    // With a fixed number of connections each waiting for its answer, mean latency = connections / throughput.
    const meanMs = (CONNECTIONS / ours.requests.average) * 1000;
    console.log(
      `p99 ${ours.latency.p99} ms (target <= ${TARGET_P99_MS} ms): ${ours.latency.p99 <= TARGET_P99_MS ? "met" : "NOT met"} ` +
        `(${CONNECTIONS} connections at ${ours.requests.average.toFixed(0)} req/s queue ${meanMs.toFixed(0)} ms on average; the baseline's own p99 is ${base.latency.p99} ms)`,
    );
  } finally {
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // let requests cut off at the deadline finish
    await baseline.close();
    await full.stop();
    await database.drop();
  }
}
