// Benchmark: an authenticated `rooms(first: 20) { ... agents { agentKey name } }`
// for a user with 20 rooms x 3 agents, against the full server (auth, gates,
// armor on) and, in the same run, two baselines answering the same JSON from
// the same prepared statement: a minimal graphql-yoga server (what GraphQL
// costs with the standard executor) and plain node:http + pg (the hardware's
// floor). Each server runs in its own process; autocannon runs in this one.
// Rounds alternate (the order rotates each round) so drift on a shared host
// falls on all alike. Targets: the full server >= 75% of raw and >= 120% of
// minimal yoga's requests over all rounds, p99 <= 50 ms.
import { randomUUID } from "node:crypto";
import { spawn } from "node:child_process";
import autocannon from "autocannon";
import { createMigratedDatabase } from "../test/support/database.ts";
import { freePort, openCpuWindow, processCpuSeconds, startServerProcess } from "../test/support/serverProcess.ts";
import { signTestToken } from "../test/fixtures/users.ts";
import { seedRoomsWithAgents } from "../test/fixtures/seed.ts";

const CONNECTIONS = 50;
const DURATION_S = 6;
const WARMUP_S = 3;
const ROUNDS = 3;
const POOL_MAX = "10";
const TARGET_OF_RAW = 0.75;
const TARGET_OF_YOGA = 1.2;
const TARGET_P99_MS = 50;

const QUERY = "query Rooms { rooms(first: 20) { edges { node { id name agents { agentKey name } } } } }";

type Which = "raw" | "yoga" | "full";

interface Target {
  url: string;
  token: string | null;
  cpuSeconds(): number;
}

/** A baseline server in its own process, with the full server's Node flags (test/support/serverProcess.ts). */
async function startBaseline(script: string, databaseUrl: string, ownerId: string): Promise<Target & { close(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--max-semi-space-size=32", "--import", "tsx", script, databaseUrl, ownerId, String(port), POOL_MAX], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => chunk.toString().includes("listening") && resolve());
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    token: null,
    cpuSeconds: () => processCpuSeconds(child.pid!),
    close: async () => {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
    },
  };
}

async function load(target: Target, duration: number) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  return autocannon({ url: target.url, method: "POST", headers, body: JSON.stringify({ query: QUERY }), connections: CONNECTIONS, duration });
}

async function measure(label: Which, target: Target) {
  await load(target, WARMUP_S);
  const cpuBefore = target.cpuSeconds();
  const window = openCpuWindow();
  const result = await load(target, DURATION_S);
  const cpuMsPerRequest = ((target.cpuSeconds() - cpuBefore) * 1000) / result.requests.total;
  const { databaseMs: databaseMsPerRequest, loadGeneratorMs: loadGeneratorMsPerRequest } = window.close(result.requests.total);
  const failures = result.non2xx + result.errors + result.timeouts;
  console.log(
    `${label.padEnd(5)} ${result.requests.average.toFixed(0).padStart(6)} req/s  p50 ${result.latency.p50} ms  p99 ${result.latency.p99} ms  CPU per request: server ${cpuMsPerRequest.toFixed(3)} ms, database ${databaseMsPerRequest.toFixed(3)} ms, load generator ${loadGeneratorMsPerRequest.toFixed(3)} ms  failures ${failures}`,
  );
  return { requests: result.requests.total, p99: result.latency.p99, cpuMs: cpuMsPerRequest * result.requests.total };
}

/** Every server must return byte-identical bodies before anything is measured. */
async function sameAnswer(targets: Record<Which, Target>): Promise<void> {
  const ask = async (target: Target) =>
    (await fetch(target.url, { method: "POST", headers: { "content-type": "application/json", ...(target.token ? { authorization: `Bearer ${target.token}` } : {}) }, body: JSON.stringify({ query: QUERY }) })).text();
  const full = await ask(targets.full);
  for (const which of ["raw", "yoga"] as const) {
    const baseline = await ask(targets[which]);
    if (full !== baseline) throw new Error(`the servers disagree:\nfull: ${full.slice(0, 300)}\n${which}: ${baseline.slice(0, 300)}`);
  }
}

function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)}%`;
}

export async function runRoomsBench(): Promise<void> {
  const database = await createMigratedDatabase("bench_rooms");
  const ownerId = randomUUID();
  const full = await startServerProcess(database.url, { DATABASE_POOL_MAX: POOL_MAX });
  const yoga = await startBaseline("bench/roomsBaselineServer.ts", database.url, ownerId);
  const raw = await startBaseline("bench/roomsRawServer.ts", database.url, ownerId);
  try {
    await seedRoomsWithAgents(database.url, ownerId, 20, 3);
    const targets: Record<Which, Target> = { raw, yoga, full: { url: full.graphqlUrl, token: await signTestToken({ sub: ownerId }), cpuSeconds: () => full.cpuSeconds() } };
    await sameAnswer(targets);
    console.log(`rooms(first: 20) x 3 agents, autocannon ${CONNECTIONS} connections, ${DURATION_S} s each, ${ROUNDS} rounds`);
    const order: Which[] = ["raw", "yoga", "full"];
    const totals: Record<Which, { requests: number; cpuMs: number; p99: number }> = { raw: { requests: 0, cpuMs: 0, p99: 0 }, yoga: { requests: 0, cpuMs: 0, p99: 0 }, full: { requests: 0, cpuMs: 0, p99: 0 } };
    for (let round = 0; round < ROUNDS; round++) {
      for (const which of [...order.slice(round % 3), ...order.slice(0, round % 3)]) {
        const result = await measure(which, targets[which]);
        totals[which].requests += result.requests;
        totals[which].cpuMs += result.cpuMs;
        totals[which].p99 = Math.max(totals[which].p99, result.p99);
      }
    }
    const ofRaw = totals.full.requests / totals.raw.requests;
    const ofYoga = totals.full.requests / totals.yoga.requests;
    const cpu = (which: Which) => totals[which].cpuMs / totals[which].requests;
    console.log(`full ${percent(ofRaw)} of raw's requests (target >= ${TARGET_OF_RAW * 100}%): ${ofRaw >= TARGET_OF_RAW ? "met" : "NOT met"}`);
    console.log(`full ${percent(ofYoga)} of minimal yoga's (target >= ${TARGET_OF_YOGA * 100}%): ${ofYoga >= TARGET_OF_YOGA ? "met" : "NOT met"}; minimal yoga is ${percent(totals.yoga.requests / totals.raw.requests)} of raw`);
    console.log(`server CPU per request: full ${cpu("full").toFixed(3)} ms, yoga ${cpu("yoga").toFixed(3)} ms, raw ${cpu("raw").toFixed(3)} ms (full ${(cpu("full") / cpu("raw")).toFixed(2)}x raw)`);
    console.log(`worst p99 of the full server ${totals.full.p99} ms (target <= ${TARGET_P99_MS} ms): ${totals.full.p99 <= TARGET_P99_MS ? "met" : "NOT met"}`);
  } finally {
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // let requests cut off at the deadline finish
    await raw.close();
    await yoga.close();
    await full.stop();
    await database.drop();
  }
}
