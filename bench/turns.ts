// Benchmark: roundtable turns (3 agents, local provider with zero delay) sent
// by 20 concurrent users through the full server, run as its own process,
// each user sending, then following the turnEvents SSE stream until the turn
// ends (bench/leanClient.ts). Reports turns/s, ledger rows/s
// and server time per turn (p50/p99) excluding provider time. In the same
// run, a baseline: the same rows inserted by plain `pg`, one transaction per
// turn. Targets: >= 40% of the baseline's turns/s over all rounds with
// enforcement on, p50 overhead <= 15 ms (printed beside one baseline user's
// turn time, the machine's reference). Each server is warmed once before
// the rounds; the rounds rotate the enforcing server, the one with credits
// off and the baseline, so drift on a shared host falls on all alike. Before
// each round the database is vacuumed and analyzed, as autovacuum would be.
// Credits (SPEC 13): enforce against off (target: enforce >= 90% of off's
// turns/s); a burst of concurrent sends from one user whose balance covers
// exactly a few first calls (accepted, refused, overspend: must be 0); and
// how tight the per-call holds are on realistic answers (bench/holds.ts).
import { randomUUID } from "node:crypto";
import pg from "pg";
import { createMigratedDatabase } from "../test/support/database.ts";
import { openCpuWindow, startServerProcess, type ServerProcess, type WindowCpu } from "../test/support/serverProcess.ts";
import { graphqlClient } from "../test/support/graphqlClient.ts";
import { signTestToken } from "../test/fixtures/users.ts";
import { createCouncil, createSession, send } from "../test/fixtures/turns.ts";
import { availableCredits } from "../src/credits/balances.ts";
import { firstCallCost } from "../test/fixtures/credits.ts";
import { startFakeOpenRouter } from "../test/support/fakeOpenRouter.ts";
import { REFERENCE_USAGE } from "../test/support/councilProvider.ts";
import { createBenchUser, followTurn, sendMessage, userAgent, type BenchUser, type LeanUser } from "./leanClient.ts";
import { measureHolds } from "./holds.ts";
import { BASELINE_AGENTS, baselineTurn } from "./baselineTurn.ts";

const USERS = 20;
const DURATION_MS = 10_000;
const WARMUP_MS = 2_000;
/**
 * Once per server, before the first round: until V8 has compiled the turn
 * path. With --trace-opt under this load, TurboFan spent 3.1, 1.2, 0.9, 0.3,
 * 0.2 and 0.5 s of the server's CPU in its first six 10 s windows (about 1
 * ms per turn in the second): rounds after an 8 s warm-up measured a server
 * still compiling, which a deployed one stopped doing in its first minute.
 */
const SERVER_WARMUP_MS = 30_000;
const TARGET_RATIO = 0.4;
const TARGET_P50_MS = 15;
const SEQUENTIAL_MS = 3_000;
/** The server's pool and the baseline's. */
const POOL_MAX = 10;

type TestServer = Pick<ServerProcess, "graphqlUrl" | "cpuSeconds">;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function setUp(server: TestServer): Promise<BenchUser[]> {
  return Promise.all(Array.from({ length: USERS }, () => createBenchUser(server.graphqlUrl)));
}

interface SentTurn {
  turnId: string;
  /** Wall clock when the client started sendMessage. */
  sentAt: number;
  sendMs: number;
  /** Events the client received. */
  events: number;
}

/** One user's loop: send, follow the turn over SSE to its end, repeat; returns the turn ids and client-seen times. */
async function userLoop(server: TestServer, user: LeanUser, until: number): Promise<SentTurn[]> {
  const url = new URL(server.graphqlUrl);
  const agent = userAgent();
  const turns: SentTurn[] = [];
  try {
    while (Date.now() < until) {
      const sentAt = Date.now();
      const started = performance.now();
      const turnId = await sendMessage(agent, url, user, "How should we launch?");
      const sendMs = performance.now() - started;
      const events = await followTurn(agent, url, user, turnId);
      turns.push({ turnId, sentAt, sendMs, events });
    }
  } finally {
    agent.destroy();
  }
  return turns;
}

type ServerRound = Awaited<ReturnType<typeof measureServer>>;

/** A counter of the server's /metrics (open in the test environment). */
async function counter(server: TestServer, name: string): Promise<number> {
  const text = await (await fetch(server.graphqlUrl.replace(/\/graphql$/, "/metrics"))).text();
  return Number(text.match(new RegExp(`^${name} (\\S+)$`, "m"))?.[1] ?? 0);
}

async function measureServer(server: TestServer, users: LeanUser[], pool: pg.Pool, warmupMs = WARMUP_MS) {
  const warmUntil = Date.now() + warmupMs;
  await Promise.all(users.map((user) => userLoop(server, user, warmUntil)));
  const [syncsBefore, bufferedBefore] = [await counter(server, "pantheon_ledger_buffer_syncs_total"), await counter(server, "pantheon_ledger_buffer_rows_total")];
  const started = Date.now();
  const cpuBefore = server.cpuSeconds();
  const window = openCpuWindow();
  const results = (await Promise.all(users.map((user) => userLoop(server, user, started + DURATION_MS)))).flat();
  const machine = window.close(results.length);
  const summary = await summarize(results, (Date.now() - started) / 1000, pool, server.cpuSeconds() - cpuBefore);
  const syncs = (await counter(server, "pantheon_ledger_buffer_syncs_total")) - syncsBefore;
  const buffered = (await counter(server, "pantheon_ledger_buffer_rows_total")) - bufferedBefore;
  const perTurn = (count: (turn: SentTurn) => number) => results.reduce((sum, turn) => sum + count(turn), 0) / Math.max(1, results.length);
  return { ...summary, machine, rowsPerSync: buffered / Math.max(1, syncs), eventsPerTurn: perTurn((turn) => turn.events) };
}

/** One user at a time: the per-turn overhead without queueing behind other users. */
async function measureSequential(server: TestServer, user: LeanUser, pool: pg.Pool) {
  const started = Date.now();
  const cpuBefore = server.cpuSeconds();
  const results = await userLoop(server, user, started + SEQUENTIAL_MS);
  return summarize(results, (Date.now() - started) / 1000, pool, server.cpuSeconds() - cpuBefore);
}

/**
 * Server time per turn: from the client's send to the turn's completion in the
 * database, minus provider time (under load this includes queueing behind the
 * other users' turns); and the server process's CPU time per turn.
 */
async function summarize(results: SentTurn[], seconds: number, pool: pg.Pool, cpuSeconds: number) {
  const ids = results.map((result) => result.turnId);
  const timings = await pool.query<{ id: string; run_ms: string; completed_ms: string; provider_ms: number; rows: number }>(
    `SELECT t.id, extract(epoch FROM t.completed_at - t.started_at) * 1000 AS run_ms, extract(epoch FROM t.completed_at) * 1000 AS completed_ms,
            coalesce(sum(e.latency_ms), 0)::float AS provider_ms, count(e.id)::int AS rows
       FROM turns t LEFT JOIN llm_call_events e ON e.turn_id = t.id
      WHERE t.id = ANY($1::uuid[]) GROUP BY t.id`,
    [ids],
  );
  const sentAtById = new Map(results.map((result) => [result.turnId, result.sentAt]));
  const overhead = timings.rows.map((row) => Number(row.completed_ms) - sentAtById.get(row.id)! - Number(row.provider_ms));
  const rows = timings.rows.reduce((sum, row) => sum + row.rows, 0);
  const sendP50 = percentile(results.map((result) => result.sendMs), 50);
  const runP50 = percentile(timings.rows.map((row) => Number(row.run_ms)), 50);
  const cpuMsPerTurn = (cpuSeconds * 1000) / results.length;
  return { seconds, turnsPerSecond: results.length / seconds, rowsPerSecond: rows / seconds, p50: percentile(overhead, 50), p99: percentile(overhead, 99), turns: results.length, sendP50, runP50, cpuMsPerTurn };
}

/** One baseline user's turns until `until`, each on a connection from the pool; each turn's time includes waiting for it. */
async function baselineUserLoop(pool: pg.Pool, user: BenchUser, until: number): Promise<number[]> {
  const times: number[] = [];
  while (Date.now() < until) {
    const turnStarted = performance.now();
    const client = await pool.connect();
    try {
      await baselineTurn(client, user);
    } finally {
      client.release();
    }
    times.push(performance.now() - turnStarted);
  }
  return times;
}

/**
 * The baseline's users, sharing a pool of the server's size. They are users of their own: the
 * baseline's completed turns in a server's sessions would become history that server's next accept
 * reads and summarizes.
 */
async function measureBaseline(pool: pg.Pool, users: BenchUser[]) {
  const started = Date.now();
  const window = openCpuWindow();
  const durations = (await Promise.all(users.map((user) => baselineUserLoop(pool, user, started + DURATION_MS)))).flat();
  const seconds = (Date.now() - started) / 1000;
  // This process is the baseline's client: its CPU stands where the server's does.
  const machine = window.close(durations.length);
  return { seconds, turns: durations.length, machine, turnsPerSecond: durations.length / seconds, rowsPerSecond: (durations.length * BASELINE_AGENTS) / seconds, p50: percentile(durations, 50), p99: percentile(durations, 99) };
}

/**
 * One baseline user at a time: the plain `pg` turn's own time, printed beside the single user's
 * overhead as this machine's reference (its wake-ups and commits cost the same to both).
 */
async function measureSequentialBaseline(pool: pg.Pool, user: BenchUser) {
  const times = await baselineUserLoop(pool, user, Date.now() + SEQUENTIAL_MS);
  return { turns: times.length, p50: percentile(times, 50) };
}

const CREDIT_TARGET_RATIO = 0.9;
const CREDIT_ROUNDS = 3;
const BURST_SENDS = 50;
const BURST_COVERED_HOLDS = 3;

/**
 * One user, BURST_SENDS sessions, a balance of exactly BURST_COVERED_HOLDS
 * first-call bounds; all sends at once while the wallet is sampled. The provider holds
 * every call until the burst is over, so no turn ends (and releases its hold)
 * meanwhile.
 */
async function creditBurst(databaseUrl: string, pool: pg.Pool) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const fake = await startFakeOpenRouter(async () => (await released, { kind: "stream", content: "Held answer.", usage: REFERENCE_USAGE }));
  const server = await startServerProcess(databaseUrl, {
    OPENROUTER_API_KEY: "sk-or-bench-fake",
    OPENROUTER_BASE_URL: fake.baseUrl,
    CREDIT_ENFORCEMENT: "enforce",
    RATE_LIMIT_TURNS_PER_MINUTE: "100000",
    RATE_LIMIT_TURNS_PER_HOUR: "1000000",
  });
  try {
    return await burstAgainst(server, pool);
  } finally {
    release();
    await server.stop();
    await fake.close();
  }
}

async function burstAgainst(server: TestServer, pool: pg.Pool) {
  const userId = randomUUID();
  const token = await signTestToken({ sub: userId });
  const client = graphqlClient(server.graphqlUrl, token);
  const council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"]]);
  const sessions = [council.sessionId, ...(await Promise.all(Array.from({ length: BURST_SENDS - 1 }, () => createSession(client, { roomId: council.roomId }))))];
  const { firstCall } = await firstCallCost(client, council.sessionId, "Go");
  const adjustment = firstCall.mul(BURST_COVERED_HOLDS).sub(await availableCredits(pool, userId, "starter"));
  await pool.query("INSERT INTO users (id, admin_role) VALUES ($1, 'owner') ON CONFLICT DO NOTHING", [BENCH_OWNER]);
  await pool.query("SELECT credit_grant($1, 'adjustment', $2, $3, 'bench', $4, NULL, 'starter', false)", [userId, adjustment.toFixed(4), BENCH_OWNER, `bench:${randomUUID()}`]);
  let sampling = true;
  let lowest: number | null = null;
  const sampler = (async () => {
    while (sampling) {
      const { rows: sample } = await pool.query<{ available: string }>("SELECT credit_available(w)::text AS available FROM credit_wallets w WHERE user_id = $1", [userId]);
      const available = Number(sample[0]!.available);
      lowest = lowest === null ? available : Math.min(lowest, available);
    }
  })();
  const results = await Promise.all(sessions.map((sessionId) => send(client, sessionId, "Go")));
  sampling = false;
  await sampler;
  return {
    attempted: results.length,
    accepted: results.filter((result) => result.__typename === "SendMessageSuccess").length,
    refused: results.filter((result) => result.__typename === "InsufficientCreditsError").length,
    overspend: Math.max(0, -(lowest ?? 0)),
  };
}

/**
 * Before each round, untimed: what autovacuum does on any deployed PostgreSQL
 * (dead row versions removed, the visibility map set, statistics refreshed).
 * Where it is off, as on the machine this runs on, each round met the
 * previous rounds' dead versions (a turn's row is written four times) and
 * plans chosen without statistics. The rate-limit gate's count of a user's
 * turns of the last hour (limits raised here to thousands an hour) then read
 * four index entries per turn and the heap pages behind them: 2.5 ms for
 * 4,000 turns, 0.45 ms after a VACUUM (an index-only scan). Rounds late in a
 * long run slowed down, once to a quarter of the others.
 */
async function vacuumAsAutovacuumWould(pool: pg.Pool): Promise<void> {
  await pool.query("VACUUM (ANALYZE)");
}

const BENCH_OWNER = "00000000-0000-4000-8000-00000000b0b0";

export async function runTurnsBench(): Promise<void> {
  const database = await createMigratedDatabase("bench_turns");
  const serverEnv = {
    DATABASE_POOL_MAX: String(POOL_MAX),
    // direct (prepared statements, the default here) or transaction (unnamed, as behind a pooler): BENCH_DATABASE_POOL_MODE.
    DATABASE_POOL_MODE: process.env.BENCH_DATABASE_POOL_MODE ?? "direct",
    RATE_LIMIT_TURNS_PER_MINUTE: "100000",
    RATE_LIMIT_TURNS_PER_HOUR: "1000000",
  };
  const [server, offServer] = await Promise.all([
    startServerProcess(database.url, { ...serverEnv, CREDIT_ENFORCEMENT: "enforce" }),
    startServerProcess(database.url, { ...serverEnv, CREDIT_ENFORCEMENT: "off" }),
  ]);
  const pool = new pg.Pool({ connectionString: database.url, max: POOL_MAX });
  try {
    const users = await setUp(server);
    const offUsers = await setUp(offServer);
    const baselineUsers = await setUp(server);
    // Each server is warmed once, while V8 compiles its turn path, so no round measures it cold.
    await measureServer(server, users, pool, SERVER_WARMUP_MS);
    await measureServer(offServer, offUsers, pool, SERVER_WARMUP_MS);
    // Rounds rotate the order of the two servers and the baseline, so drift on a shared host falls on all alike.
    const offRounds: ServerRound[] = [];
    const enforceRounds: ServerRound[] = [];
    const baselineRounds: Awaited<ReturnType<typeof measureBaseline>>[] = [];
    const kinds = ["off", "enforce", "baseline"] as const;
    for (let round = 0; round < CREDIT_ROUNDS; round++) {
      for (const kind of [...kinds.slice(round % 3), ...kinds.slice(0, round % 3)]) {
        await vacuumAsAutovacuumWould(pool);
        if (kind === "off") offRounds.push(await measureServer(offServer, offUsers, pool));
        else if (kind === "enforce") enforceRounds.push(await measureServer(server, users, pool));
        else baselineRounds.push(await measureBaseline(pool, baselineUsers));
      }
    }
    // The round with the median throughput stands for the server; the ratio is over all rounds.
    const full = [...enforceRounds].sort((a, b) => a.turnsPerSecond - b.turnsPerSecond)[Math.floor(enforceRounds.length / 2)]!;
    const baseline = [...baselineRounds].sort((a, b) => a.turnsPerSecond - b.turnsPerSecond)[Math.floor(baselineRounds.length / 2)]!;
    await offServer.stop();
    const burst = await creditBurst(database.url, pool);
    const holds = await measureHolds(database.url, pool);
    await vacuumAsAutovacuumWould(pool);
    const sequential = await measureSequential(server, users[0]!, pool);
    const sequentialBaseline = await measureSequentialBaseline(pool, baselineUsers[0]!);
    const rate = (rounds: { turns: number; seconds: number }[]) => rounds.reduce((sum, round) => sum + round.turns, 0) / rounds.reduce((sum, round) => sum + round.seconds, 0);
    const ratio = rate(enforceRounds) / rate(baselineRounds);
    console.log(`pool      DATABASE_POOL_MODE=${serverEnv.DATABASE_POOL_MODE}`);
    console.log(`server    ${full.turnsPerSecond.toFixed(1)} turns/s  ${full.rowsPerSecond.toFixed(1)} ledger rows/s  overhead p50 ${full.p50.toFixed(1)} ms  p99 ${full.p99.toFixed(1)} ms  (${full.turns} turns; p50 sendMessage ${full.sendP50.toFixed(1)} ms, p50 execution ${full.runP50.toFixed(1)} ms; server CPU ${full.cpuMsPerTurn.toFixed(2)} ms/turn)`);
    console.log(
      `per turn  ${full.eventsPerTurn.toFixed(1)} events to the client; ${full.rowsPerSync.toFixed(2)} ledger rows per disk-buffer fsync (concurrent calls share one)`,
    );
    console.log(`1 user    ${sequential.turnsPerSecond.toFixed(1)} turns/s  overhead p50 ${sequential.p50.toFixed(1)} ms  p99 ${sequential.p99.toFixed(1)} ms  (p50 sendMessage ${sequential.sendP50.toFixed(1)} ms, p50 execution ${sequential.runP50.toFixed(1)} ms; server CPU ${sequential.cpuMsPerTurn.toFixed(2)} ms/turn)`);
    console.log(`baseline  ${baseline.turnsPerSecond.toFixed(1)} turns/s  ${baseline.rowsPerSecond.toFixed(1)} ledger rows/s  time per turn p50 ${baseline.p50.toFixed(1)} ms  p99 ${baseline.p99.toFixed(1)} ms (plain pg, one transaction per turn, ${USERS} users on ${POOL_MAX} connections)`);
    console.log(
      `ratio ${(ratio * 100).toFixed(1)}% over ${CREDIT_ROUNDS} rounds, enforcement on (target >= ${TARGET_RATIO * 100}%): ${ratio >= TARGET_RATIO ? "met" : "NOT met"}; ` +
        `turns/s per round: server ${enforceRounds.map((round) => round.turnsPerSecond.toFixed(1)).join(", ")}; baseline ${baselineRounds.map((round) => round.turnsPerSecond.toFixed(1)).join(", ")}`,
    );
    const sum = (rounds: { turns: number }[]) => rounds.reduce((total, round) => total + round.turns, 0);
    const creditRatio = sum(enforceRounds) / sum(offRounds);
    const figures = (rounds: ServerRound[]) =>
      rounds.map((round) => `${round.turnsPerSecond.toFixed(1)} (CPU ${round.cpuMsPerTurn.toFixed(2)} ms/turn)`).join(", ");
    console.log(
      `credits   turns/s per round: enforce ${figures(enforceRounds)}; off ${figures(offRounds)}; ` +
        `enforce/off over all rounds ${(creditRatio * 100).toFixed(1)}% (target >= ${CREDIT_TARGET_RATIO * 100}%): ${creditRatio >= CREDIT_TARGET_RATIO ? "met" : "NOT met"}`,
    );
    // Where each contender's turn goes on the machine: the server's and PostgreSQL's CPU per turn (the baseline's client stands for the server), and the machine's idle share.
    const idle = (machine: WindowCpu) => `idle ${(machine.idleShare * 100).toFixed(0)}%`;
    const serverCpu = (rounds: ServerRound[]) =>
      rounds.map((round) => `${round.cpuMsPerTurn.toFixed(2)} + ${round.machine.databaseMs.toFixed(2)} ms (load generator ${round.machine.loadGeneratorMs.toFixed(2)}), ${idle(round.machine)}`).join("; ");
    console.log(
      `cpu       per turn and round, server + PostgreSQL: enforce ${serverCpu(enforceRounds)} | off ${serverCpu(offRounds)} | ` +
        `baseline client + PostgreSQL ${baselineRounds.map(({ machine }) => `${machine.loadGeneratorMs.toFixed(2)} + ${machine.databaseMs.toFixed(2)} ms, ${idle(machine)}`).join("; ")}`,
    );
    console.log(
      `burst     ${burst.attempted} concurrent sends, balance for ${BURST_COVERED_HOLDS} first calls: ${burst.accepted} accepted, ${burst.refused} refused, overspend ${burst.overspend.toFixed(4)} (must be 0): ${burst.accepted === BURST_COVERED_HOLDS && burst.overspend === 0 ? "met" : "NOT met"}`,
    );
    for (const line of holds) console.log(line);
    console.log(
      `p50 server time per turn (target <= ${TARGET_P50_MS} ms): single user ${sequential.p50.toFixed(1)} ms ${sequential.p50 <= TARGET_P50_MS ? "met" : "NOT met"} (this machine's reference, one plain pg turn at a time: p50 ${sequentialBaseline.p50.toFixed(1)} ms over ${sequentialBaseline.turns} turns); ` +
        `server CPU ${full.cpuMsPerTurn.toFixed(2)} ms/turn under load, not a target; ` +
        `under ${USERS} users ${full.p50.toFixed(1)} ms, not a target (queueing: ${USERS} turns in flight; the baseline's own p50 is ${baseline.p50.toFixed(1)} ms)`,
    );
  } finally {
    await pool.end();
    await server.stop();
    await offServer.stop();
    await database.drop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runTurnsBench();
