// Fan-out benchmark (`npm run bench -- fanout`): one turn watched by 1,000
// turnEvents SSE subscribers (one user), with three server processes, a Redis
// of the bench's own between them, and a loopback fake OpenRouter whose one
// agent answer streams 100 chunks, each carrying the time it left. Delivery:
// the 1,000 spread over the three instances (the turn runs on A; B and C get
// it through Redis), against the same 1,000 on A alone, measured in the same
// run (alternating rounds, after a warm-up): latency p50/p99 from provider
// chunk to subscriber over every (subscriber, chunk) pair, and events/s
// delivered. Idle cost: database transactions/s with the turn's provider call
// held (no events flowing), with no subscriber and with 1,000 idle ones over
// the three instances; target: nothing per subscriber.
import pg from "pg";
import { ADMIN_URL, createMigratedDatabase } from "../test/support/database.ts";
import { startServerProcess, type ServerProcess } from "../test/support/serverProcess.ts";
import { startTestRedis, type TestRedis } from "../test/support/redisServer.ts";
import { STREAM_PIECE_LENGTH, startFakeOpenRouter, type FakeOpenRouter, type FakeReply } from "../test/support/fakeOpenRouter.ts";
import { REFERENCE_USAGE } from "../test/support/councilProvider.ts";
import { graphqlClient } from "../test/support/graphqlClient.ts";
import { createTestUser } from "../test/fixtures/users.ts";
import { createCouncil, sendAccepted } from "../test/fixtures/turns.ts";
import { deliveries, openFanout, wallClockMs, type Deliveries, type Fanout } from "./fanoutSubscribers.ts";

const SUBSCRIBERS = 1_000;
const INSTANCES = 3;
const CHUNKS = 100;
const CHUNK_INTERVAL_MS = 20;
/** Measured rounds per configuration, alternating, so drift on the shared machine hits both alike. */
const ROUNDS = 2;
const ROUND_TIMEOUT_MS = 60_000;
const IDLE_WINDOW_MS = 10_000;
/** PostgreSQL flushes an idle backend's counters to pg_stat_database up to 10 s late (PGSTAT_IDLE_INTERVAL): each window starts that long after its state began. */
const STATS_SETTLE_MS = 10_000;
/** The provider call stays held through both idle windows; the server's default timeout (60 s) is too close. */
const PROVIDER_TIMEOUT_MS = 180_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The agent's answer: CHUNKS pieces, each rewritten as it leaves into its emission time; held until the round releases it. */
function stampedProvider() {
  let gate = Promise.resolve();
  let open: () => void = () => undefined;
  const emitted = { first: 0, last: 0 };
  const stamp = () => {
    const now = wallClockMs();
    emitted.first ||= now;
    emitted.last = now;
    return `${now.toFixed(3)} `;
  };
  return {
    async handler(): Promise<FakeReply> {
      await gate;
      return { kind: "stream", content: ".".repeat(CHUNKS * STREAM_PIECE_LENGTH), usage: REFERENCE_USAGE, chunkDelayMs: CHUNK_INTERVAL_MS, rewritePiece: stamp };
    },
    hold() {
      gate = new Promise((resolve) => (open = resolve));
      emitted.first = emitted.last = 0;
    },
    release: () => open(),
    /** When the current turn's first and last chunks left. */
    emitted: () => ({ ...emitted }),
  };
}

type StampedProvider = ReturnType<typeof stampedProvider>;

interface Bench {
  provider: StampedProvider;
  fake: FakeOpenRouter;
  servers: ServerProcess[];
  token: string;
}

/** A fresh one-agent council on A (one running turn per session) and its turn, whose provider call is held. */
async function heldTurn(bench: Bench): Promise<string> {
  bench.provider.hold();
  const client = graphqlClient(bench.servers[0]!.graphqlUrl, bench.token);
  const council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"]]);
  const callsBefore = bench.fake.calls.length;
  const turnId = await sendAccepted(client, council.sessionId, "Stream to everyone.");
  while (bench.fake.calls.length === callsBefore) await sleep(20);
  return turnId;
}

interface RoundResult {
  /** What the subscribers of each instance received (subscriber i is on instance i mod the instances in the round). */
  byInstance: Deliveries[];
  emitted: { first: number; last: number };
  serverCpuSeconds: number;
  clientCpuSeconds: number;
}

/** Releases the held turn to `fanout` and waits for every stream to end. */
async function streamTo(bench: Bench, fanout: Fanout, instances: number): Promise<RoundResult> {
  const cpuBefore = bench.servers.map((server) => server.cpuSeconds());
  const clientBefore = process.cpuUsage();
  bench.provider.release();
  await fanout.ended(ROUND_TIMEOUT_MS);
  const client = process.cpuUsage(clientBefore);
  const serverCpuSeconds = bench.servers.reduce((sum, server, index) => sum + server.cpuSeconds() - cpuBefore[index]!, 0);
  const emitted = bench.provider.emitted();
  const byInstance = Array.from({ length: instances }, (_, instance) => deliveries(fanout.subscribers.filter((_, index) => index % instances === instance), emitted.first));
  return { byInstance, emitted, serverCpuSeconds, clientCpuSeconds: (client.user + client.system) / 1e6 };
}

async function deliveryRound(bench: Bench, instances: ServerProcess[]): Promise<RoundResult> {
  const turnId = await heldTurn(bench);
  const fanout = await openFanout(instances.map((server) => server.graphqlUrl), SUBSCRIBERS, bench.token, turnId);
  try {
    return await streamTo(bench, fanout, instances.length);
  } finally {
    fanout.close();
  }
}

/**
 * Transactions committed or rolled back in the bench's database per second
 * over `windowMs`. Read from another database, so reading adds none; each
 * read is its own transaction, so it sees fresh counters, not a cached snapshot.
 */
async function transactionsPerSecond(stats: pg.Client, databaseName: string, windowMs: number): Promise<number> {
  const read = async () => {
    const { rows } = await stats.query<{ xacts: string }>("SELECT xact_commit + xact_rollback AS xacts FROM pg_stat_database WHERE datname = $1", [databaseName]);
    return Number(rows[0]!.xacts);
  };
  const before = await read();
  const started = performance.now();
  await sleep(windowMs);
  const after = await read();
  return ((after - before) * 1000) / (performance.now() - started);
}

/** Transactions/s with a turn held at its provider: no subscriber, then 1,000 idle ones over every instance. The turn then streams to them, as a warm-up. */
async function idleTransactions(bench: Bench, stats: pg.Client, databaseName: string) {
  const turnId = await heldTurn(bench);
  await sleep(STATS_SETTLE_MS);
  const withoutSubscribers = await transactionsPerSecond(stats, databaseName, IDLE_WINDOW_MS);
  const fanout = await openFanout(bench.servers.map((server) => server.graphqlUrl), SUBSCRIBERS, bench.token, turnId);
  try {
    await sleep(STATS_SETTLE_MS);
    const withSubscribers = await transactionsPerSecond(stats, databaseName, IDLE_WINDOW_MS);
    await streamTo(bench, fanout, bench.servers.length);
    return { withoutSubscribers, withSubscribers };
  } finally {
    fanout.close();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const sortedLatencies = (all: Deliveries[]) => all.flatMap((delivered) => delivered.latenciesMs).sort((a, b) => a - b);

/** The rounds of one configuration, pooled; rates over the time from a turn's first chunk to its last delivery. */
function summarize(rounds: RoundResult[]) {
  const all = rounds.flatMap((round) => round.byInstance);
  const latencies = sortedLatencies(all);
  const events = all.reduce((sum, delivered) => sum + delivered.events, 0);
  const seconds = rounds.reduce((sum, round) => sum + (Math.max(...round.byInstance.map((delivered) => delivered.lastAt)) - round.emitted.first) / 1000, 0);
  const perRound = (value: (round: RoundResult) => number) => rounds.reduce((sum, round) => sum + value(round), 0) / rounds.length;
  return {
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    p50ByInstance: rounds[0]!.byInstance.map((_, instance) => percentile(sortedLatencies(rounds.map((round) => round.byInstance[instance]!)), 50)),
    eventsPerSecond: events / seconds,
    chunksPerSecond: latencies.length / seconds,
    chunksDelivered: latencies.length,
    completed: all.reduce((sum, delivered) => sum + delivered.completed, 0),
    eventsPerSubscriber: events / (SUBSCRIBERS * rounds.length),
    deliverySeconds: seconds / rounds.length,
    emissionSeconds: perRound((round) => (round.emitted.last - round.emitted.first) / 1000),
    serverCpuSeconds: perRound((round) => round.serverCpuSeconds),
    clientCpuSeconds: perRound((round) => round.clientCpuSeconds),
  };
}

type Figures = ReturnType<typeof summarize>;

function printDelivery(label: string, figures: Figures) {
  const byInstance = figures.p50ByInstance.length > 1 ? `, p50 on ${figures.p50ByInstance.map((p50, index) => `${"ABC"[index]} ${p50.toFixed(0)}`).join(" / ")} ms` : "";
  console.log(`${label.padEnd(26)} latency p50 ${figures.p50.toFixed(1)} ms  p99 ${figures.p99.toFixed(1)} ms  ${figures.eventsPerSecond.toFixed(0)} events/s  (${figures.chunksPerSecond.toFixed(0)} chunk deliveries/s${byInstance})`);
  console.log(
    `${"".padEnd(26)} per turn: ${figures.eventsPerSubscriber.toFixed(1)} events per subscriber (deltas merge chunks when the server falls behind); provider streamed ${figures.emissionSeconds.toFixed(1)} s, ` +
      `last delivery ${figures.deliverySeconds.toFixed(1)} s after the first chunk; CPU servers ${figures.serverCpuSeconds.toFixed(1)} s, bench ${figures.clientCpuSeconds.toFixed(1)} s; ` +
      `chunks delivered ${figures.chunksDelivered} of ${SUBSCRIBERS * CHUNKS * ROUNDS}, streams completed ${figures.completed} of ${SUBSCRIBERS * ROUNDS}`,
  );
}

async function measure(bench: Bench, stats: pg.Client, databaseName: string) {
  const idle = await idleTransactions(bench, stats, databaseName);
  const spread: RoundResult[] = [];
  const single: RoundResult[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    spread.push(await deliveryRound(bench, bench.servers));
    single.push(await deliveryRound(bench, bench.servers.slice(0, 1)));
  }
  const [many, one] = [summarize(spread), summarize(single)];
  console.log(`one turn, 1 agent streaming ${CHUNKS} chunks ${CHUNK_INTERVAL_MS} ms apart, ${SUBSCRIBERS} SSE subscribers (one user), Redis pub/sub; ${ROUNDS} rounds each after a warm-up`);
  printDelivery(`${INSTANCES} instances (turn on A)`, many);
  printDelivery("1 instance (A)", one);
  console.log(`ratio ${INSTANCES} instances / 1: latency p50 ${(many.p50 / one.p50).toFixed(2)}x  p99 ${(many.p99 / one.p99).toFixed(2)}x  events/s ${(many.eventsPerSecond / one.eventsPerSecond).toFixed(2)}x  chunk deliveries/s ${(many.chunksPerSecond / one.chunksPerSecond).toFixed(2)}x`);
  const perSubscriber = (idle.withSubscribers - idle.withoutSubscribers) / SUBSCRIBERS;
  console.log(
    `idle database, turn running with its provider call held, ${IDLE_WINDOW_MS / 1000} s windows: no subscriber ${idle.withoutSubscribers.toFixed(1)} transactions/s; ` +
      `${SUBSCRIBERS} idle subscribers over ${INSTANCES} instances ${idle.withSubscribers.toFixed(1)} transactions/s; ` +
      `difference ${(idle.withSubscribers - idle.withoutSubscribers).toFixed(1)}, per subscriber ${perSubscriber.toFixed(4)} transactions/s (target: nothing per subscriber)`,
  );
}

export async function runFanoutBench(): Promise<void> {
  const database = await createMigratedDatabase("bench_fanout");
  const stats = new pg.Client({ connectionString: ADMIN_URL });
  const provider = stampedProvider();
  const servers: ServerProcess[] = [];
  let redis: TestRedis | undefined;
  let fake: FakeOpenRouter | undefined;
  try {
    await stats.connect();
    redis = await startTestRedis();
    fake = await startFakeOpenRouter(provider.handler);
    const env = {
      REDIS_URL: redis.url,
      OPENROUTER_API_KEY: "sk-or-bench-fake",
      OPENROUTER_BASE_URL: fake.baseUrl,
      OPENROUTER_TIMEOUT_MS: String(PROVIDER_TIMEOUT_MS),
      SHUTDOWN_TURN_DEADLINE_MS: "1000",
      RATE_LIMIT_TURNS_PER_MINUTE: "1000",
      RATE_LIMIT_TURNS_PER_HOUR: "10000",
    };
    const started = await Promise.allSettled(Array.from({ length: INSTANCES }, () => startServerProcess(database.url, env)));
    for (const result of started) if (result.status === "fulfilled") servers.push(result.value);
    const failed = started.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
    const { token } = await createTestUser();
    await measure({ provider, fake, servers, token }, stats, database.name);
  } finally {
    provider.release();
    for (const server of servers) await server.stop();
    await fake?.close();
    await redis?.stop();
    await stats.end();
    await database.drop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runFanoutBench();
