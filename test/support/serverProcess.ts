// Runs the API as its own Node.js process, the way it is deployed: for
// benchmarks (the load generator never shares the server's event loop or
// core) and for fault tests (a crash is a process exit, SIGKILL is real).
// BENCH_CPU_PROF=<dir> writes a V8 CPU profile of the server there when it
// stops (open it in Chrome DevTools or speedscope); BENCH_PERF=1 starts it
// with --perf-basic-prof, so `perf` names its JavaScript frames;
// BENCH_NODE_FLAGS adds Node flags of your own (e.g. "--trace-gc", which
// NODE_OPTIONS does not take).
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createServer } from "node:net";
import { TEST_JWT_SECRET } from "./server.ts";
import { environmentWithoutAppConfig, waitForOutput } from "./startProcess.ts";

export interface ServerProcess {
  graphqlUrl: string;
  pid: number;
  child: ChildProcess;
  /** Resolves with the exit code when the process exits (for any reason). */
  exited: Promise<number | null>;
  output(): string;
  /** CPU seconds (user + system, all threads) the server has used so far; from /proc, so Linux only. */
  cpuSeconds(): number;
  /** SIGTERM (or the given signal) and wait for the exit; the ledger buffer directory is removed unless the caller chose it. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const CLOCK_TICKS_PER_SECOND = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());

export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the parenthesised command name; utime and stime are the 12th and 13th of them.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** CPU seconds used so far by each PostgreSQL process on this machine (backends, WAL writer, checkpointer), by pid. */
function databaseCpuSnapshot(): Map<number, number> {
  const snapshot = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() === "postgres") snapshot.set(Number(entry), processCpuSeconds(Number(entry)));
    } catch {
      // The process exited between the listing and the read.
    }
  }
  return snapshot;
}

/**
 * PostgreSQL's CPU seconds since `before` (a snapshot): processes alive at both ends count their
 * difference, new ones all of theirs. A backend that exited in between takes its time with it, so a
 * round's figure is right while the connections doing its work stay open (pools keep them).
 */
function databaseCpuSecondsSince(before: Map<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of databaseCpuSnapshot()) total += seconds - (before.get(pid) ?? 0);
  return total;
}

/** The machine's CPU time so far, all cores, and how much of it was idle (idle and iowait), from /proc/stat. */
function machineCpuSnapshot(): { idle: number; total: number } {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  return { idle: fields[3]! + fields[4]!, total: fields.reduce((sum, value) => sum + value, 0) };
}

/** What a measured window cost per unit of work (a request, a turn). */
export interface WindowCpu {
  /** PostgreSQL's CPU, all its processes. */
  databaseMs: number;
  /** This process's CPU: the benchmark's load generator (or the baseline's own client). */
  loadGeneratorMs: number;
  /** The share of the machine's CPU time nobody used. */
  idleShare: number;
}

/** Opens a measured window now; `close(units)` gives its CPU per unit of the work done in it. */
export function openCpuWindow(): { close(units: number): WindowCpu } {
  const database = databaseCpuSnapshot();
  const machine = machineCpuSnapshot();
  const own = process.cpuUsage();
  return {
    close(units) {
      const count = Math.max(1, units);
      const used = process.cpuUsage(own);
      const now = machineCpuSnapshot();
      return {
        databaseMs: (databaseCpuSecondsSince(database) * 1000) / count,
        loadGeneratorMs: (used.user + used.system) / 1000 / count,
        idleShare: (now.idle - machine.idle) / Math.max(1, now.total - machine.total),
      };
    },
  };
}

export async function startServerProcess(databaseUrl: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const profileDir = process.env.BENCH_CPU_PROF;
  // As `npm start` runs it (package.json), without npm and the Prisma generate step in between.
  // BENCH_NODE_FLAGS after the deployed flags: a V8 flag given twice takes its last value.
  const ownFlags = process.env.BENCH_NODE_FLAGS?.split(" ").filter(Boolean) ?? [];
  const nodeArgs = [...(process.env.BENCH_PERF ? ["--perf-basic-prof"] : []), ...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : []), "--max-semi-space-size=32", ...ownFlags, "--import", "tsx", "src/server.ts"];
  const ownBufferDir = env.LEDGER_BUFFER_DIR ? null : mkdtempSync(path.join(tmpdir(), "pantheon-server-ledger-"));
  const child = spawn(process.execPath, nodeArgs, {
    env: {
      ...environmentWithoutAppConfig(),
      APP_ENV: "test",
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      DATABASE_POOL_URL: databaseUrl,
      // The test database is PostgreSQL itself, no pooler between.
      DATABASE_POOL_MODE: "direct",
      SUPABASE_JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: "error",
      ...(ownBufferDir ? { LEDGER_BUFFER_DIR: ownBufferDir } : {}),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const { exited, output } = await waitForOutput(child, /Migration gate: ready/, 60_000).catch((error: unknown) => {
    // A server that never became ready has exited by now: its disk buffer goes with it.
    if (ownBufferDir) rmSync(ownBufferDir, { recursive: true, force: true });
    throw error;
  });
  return {
    graphqlUrl: `http://127.0.0.1:${port}/graphql`,
    pid: child.pid!,
    child,
    exited,
    output,
    cpuSeconds: () => processCpuSeconds(child.pid!),
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
      if (ownBufferDir) rmSync(ownBufferDir, { recursive: true, force: true });
    },
  };
}
