// Benchmark: a session's transcript page, the newest 50 shared messages with
// cursors (`session(id) { messages(last: 50) { ... } }`), authenticated,
// against the full server (auth, gates, armor on) and, in the same run, a
// minimal graphql-yoga server answering the same JSON from one prepared SQL
// statement (bench/transcriptBaselineServer.ts). Each server runs in its own
// process; autocannon runs in this one. Target: >= 100% of the baseline's
// requests/s over all rounds. Each server's CPU time per request is printed
// too: on a shared two-core host it is the steadier figure.
import { spawn } from "node:child_process";
import autocannon from "autocannon";
import { createMigratedDatabase } from "../test/support/database.ts";
import { freePort, processCpuSeconds, startServerProcess } from "../test/support/serverProcess.ts";
import { signTestToken } from "../test/fixtures/users.ts";
import { seedTranscript } from "./seedTranscript.ts";

const CONNECTIONS = 50;
const DURATION_S = 6;
/** Rounds of each, alternating (order swapped each round), so drift on a shared host falls on both alike. */
const ROUNDS = 3;
const WARMUP_S = 5;
const POOL_MAX = "10";
const TARGET_RATIO = 1;
const PAGE_SIZE = 50;
/** About 3.4 shared messages a turn: the session holds some 140, so the page is full and has older pages. */
const TURNS = 40;

const QUERY = `query TranscriptPage($id: ID!) { session(id: $id) { messages(last: ${PAGE_SIZE}) {
  edges { cursor node { id role agentKey content createdAt } } pageInfo { hasPreviousPage startCursor } } } }`;

/** The baseline server in its own process, with the full server's Node flags (test/support/serverProcess.ts). */
async function startBaseline(databaseUrl: string, ownerId: string): Promise<{ url: string; cpuSeconds(): number; close(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--max-semi-space-size=32", "--import", "tsx", "bench/transcriptBaselineServer.ts", databaseUrl, ownerId, String(port), POOL_MAX], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => chunk.toString().includes("listening") && resolve());
    child.once("exit", (code) => reject(new Error(`the baseline server exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    cpuSeconds: () => processCpuSeconds(child.pid!),
    close: async () => {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
    },
  };
}

function headers(token: string | null): Record<string, string> {
  return { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) };
}

async function load(url: string, token: string | null, body: string, duration: number) {
  return autocannon({ url, method: "POST", headers: headers(token), body, connections: CONNECTIONS, duration });
}

async function measure(label: string, url: string, token: string | null, body: string, cpuSeconds: () => number) {
  await load(url, token, body, WARMUP_S);
  const cpuBefore = cpuSeconds();
  const result = await load(url, token, body, DURATION_S);
  const cpuMsPerRequest = ((cpuSeconds() - cpuBefore) * 1000) / result.requests.total;
  const failures = result.non2xx + result.errors + result.timeouts;
  console.log(
    `${label.padEnd(9)} ${result.requests.average.toFixed(0).padStart(6)} req/s  p50 ${result.latency.p50} ms  p99 ${result.latency.p99} ms  server CPU ${cpuMsPerRequest.toFixed(2)} ms/request  failures ${failures}`,
  );
  return { requests: result.requests.total, cpuMsPerRequest };
}

/** Both servers must return byte-identical bodies (cursors included) and a full page, before anything is measured. */
async function sameAnswer(fullUrl: string, baselineUrl: string, token: string, body: string): Promise<number> {
  const ask = async (url: string, auth: string | null) => (await fetch(url, { method: "POST", headers: headers(auth), body })).text();
  const [full, baseline] = [await ask(fullUrl, token), await ask(baselineUrl, null)];
  if (full !== baseline) throw new Error(`the servers disagree:\nfull:     ${full.slice(0, 300)}\nbaseline: ${baseline.slice(0, 300)}`);
  const page = (JSON.parse(full) as { data?: { session?: { messages: { edges: unknown[]; pageInfo: { hasPreviousPage: boolean } } } } }).data?.session?.messages;
  if (page?.edges.length !== PAGE_SIZE || !page.pageInfo.hasPreviousPage) throw new Error(`expected a full page with older messages: ${full.slice(0, 300)}`);
  return Buffer.byteLength(full);
}

export async function runTranscriptBench(): Promise<void> {
  const database = await createMigratedDatabase("bench_transcript");
  try {
    const seed = await seedTranscript(database.url, TURNS);
    const full = await startServerProcess(database.url, { DATABASE_POOL_MAX: POOL_MAX });
    let baseline: Awaited<ReturnType<typeof startBaseline>> | undefined;
    try {
      baseline = await startBaseline(database.url, seed.userId);
      const token = await signTestToken({ sub: seed.userId });
      const body = JSON.stringify({ query: QUERY, variables: { id: seed.sessionId } });
      const bytes = await sameAnswer(full.graphqlUrl, baseline.url, token, body);
      console.log(`session transcript, messages(last: ${PAGE_SIZE}) of ${seed.sharedMessages} shared (${(bytes / 1024).toFixed(0)} KiB a response), autocannon ${CONNECTIONS} connections, ${DURATION_S} s each`);
      const totals = { baseline: { requests: 0, cpuMs: 0 }, full: { requests: 0, cpuMs: 0 } };
      for (let round = 0; round < ROUNDS; round++) {
        for (const which of round % 2 === 0 ? (["baseline", "full"] as const) : (["full", "baseline"] as const)) {
          const server = which === "full" ? { url: full.graphqlUrl, token, cpu: () => full.cpuSeconds() } : { url: baseline.url, token: null, cpu: () => baseline!.cpuSeconds() };
          const result = await measure(which, server.url, server.token, body, server.cpu);
          totals[which].requests += result.requests;
          totals[which].cpuMs += result.cpuMsPerRequest * result.requests;
        }
      }
      const ratio = totals.full.requests / totals.baseline.requests;
      const cpuRatio = totals.full.cpuMs / totals.full.requests / (totals.baseline.cpuMs / totals.baseline.requests);
      console.log(
        `ratio over ${ROUNDS} rounds ${(ratio * 100).toFixed(1)}% of baseline's requests (target >= ${TARGET_RATIO * 100}%): ${ratio >= TARGET_RATIO ? "met" : "NOT met"}; ` +
          `server CPU per request ${cpuRatio.toFixed(2)}x the baseline's`,
      );
    } finally {
      await new Promise((resolve) => setTimeout(resolve, 1_000)); // let requests cut off at the deadline finish
      await baseline?.close();
      await full.stop();
    }
  } finally {
    await database.drop();
  }
}
