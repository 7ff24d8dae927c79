// Benchmark: PostgreSQL's instructions per 3-agent turn, counted by valgrind
// (callgrind) in a PostgreSQL cluster of its own. Turns/s on this shared
// two-core machine drift by a third within minutes, so a change worth 3% of
// PostgreSQL's work is lost in the turns bench's noise; instructions are not:
// four runs agreed within about 1%. It answers "how much less
// does PostgreSQL do per turn with this change", not "how fast": cache misses,
// locks and I/O are not counted (the turns bench measures those).
//
// One user, one connection, one turn at a time: each contender (the server
// enforcing credits, the server with credits off, the turns bench's plain
// `pg` baseline) runs 3 + 3 turns and then 3 + 23 turns on a fresh backend,
// and a turn's count is the difference over the 20 extra turns, so the
// backend's start, its first plans and the user's setup cancel out. Each
// server run has a user of its own, so no run inherits another's history.
//
// PG_INSTRUCTIONS_SQL=<file> applies a SQL script after the migrations (a
// variant of a SQL function to try before writing its migration); each run
// starts from a new cluster, so two runs compare directly.
//
// Needs valgrind and PostgreSQL's server binaries (initdb, pg_ctl, postgres:
// PG_BIN, else the newest /usr/lib/postgresql/*/bin); says so and stops
// without them. As root, the cluster runs as the `postgres` user.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { migrateDeploy } from "../test/support/database.ts";
import { freePort, startServerProcess } from "../test/support/serverProcess.ts";
import { waitForOutput } from "../test/support/startProcess.ts";
import { createBenchUser, followTurn, sendMessage, userAgent, type BenchUser } from "./leanClient.ts";
import { baselineTurn } from "./baselineTurn.ts";

const WARM_TURNS = 3;
const SMALL_RUN = 3;
const LARGE_RUN = 23;
/** A run whose backends differ in number from its pair's (a second connection opened) is measured again, at most this often. */
const ATTEMPTS = 3;
/** One pooled connection, so that one backend serves a run; limits no bench user reaches. */
const SERVER_ENV = {
  DATABASE_POOL_MAX: "1",
  RATE_LIMIT_TURNS_PER_MINUTE: "100000",
  RATE_LIMIT_TURNS_PER_HOUR: "1000000",
};

function postgresBinaries(): string | null {
  if (process.env.PG_BIN) return existsSync(path.join(process.env.PG_BIN, "postgres")) ? process.env.PG_BIN : null;
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).filter((entry) => existsSync(path.join(root, entry, "bin", "initdb"))).sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], "bin") : null;
}

function hasValgrind(): boolean {
  try {
    execFileSync("valgrind", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const asRoot = process.getuid?.() === 0;

/** The command as the cluster's owner: `postgres` when this runs as root (initdb refuses root). */
function asOwner(command: string, args: string[]): [string, string[]] {
  return asRoot ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, args];
}

function runAsOwner(command: string, args: string[], cwd: string): void {
  const [file, argv] = asOwner(command, args);
  execFileSync(file, argv, { stdio: "ignore", cwd });
}

/** A new temporary directory the cluster's owner can write. */
function ownedDirectory(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  if (asRoot) chownSync(dir, Number(execFileSync("id", ["-u", "postgres"]).toString()), Number(execFileSync("id", ["-g", "postgres"]).toString()));
  return dir;
}

interface Cluster {
  /** The bench's database, and the cluster's own `postgres` database. */
  url: string;
  adminUrl: string;
  /** Starts PostgreSQL, under callgrind when `countInto` names a directory for its per-process counts. */
  start(countInto?: string): Promise<void>;
  stop(): Promise<void>;
  remove(): void;
}

function createCluster(bin: string, port: number): Cluster {
  const dir = ownedDirectory("pantheon-pg-instructions-");
  const data = path.join(dir, "data");
  runAsOwner(path.join(bin, "initdb"), ["-D", data, "-U", "postgres", "-A", "trust", "--no-sync"], dir);
  // As the machine's cluster runs (autovacuum off), without JIT (compiling a query would be counted as running it),
  // and logging in English, whose "ready" line start() waits for.
  const settings = ["-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "autovacuum=off", "-c", "jit=off", "-c", "lc_messages=C"];
  let postmaster: ChildProcess | null = null;
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/pantheon`,
    adminUrl: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    async start(countInto) {
      const [file, argv] = countInto
        ? asOwner("valgrind", ["--tool=callgrind", "--trace-children=yes", "--vgdb=no", `--callgrind-out-file=${countInto}/cg.%p`, path.join(bin, "postgres"), "-D", data, ...settings])
        : asOwner(path.join(bin, "postgres"), ["-D", data, ...settings]);
      postmaster = spawn(file, argv, { stdio: ["ignore", "pipe", "pipe"], cwd: dir });
      // Under callgrind PostgreSQL starts tens of times slower; its log says when it is ready.
      await waitForOutput(postmaster, /ready to accept connections/, 120_000);
    },
    async stop() {
      if (!postmaster || postmaster.exitCode !== null) return;
      const exited = new Promise((resolve) => postmaster!.once("exit", resolve));
      runAsOwner(path.join(bin, "pg_ctl"), ["-D", data, "-m", "fast", "-w", "-t", "300", "stop"], dir);
      await exited;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A process's instruction count from its callgrind file, or null while the file is still being written (its totals line comes last). */
function instructionsIn(file: string): number | null {
  const totals = /^totals: (\d+)$/m.exec(readFileSync(file, "utf8"));
  return totals ? Number(totals[1]) : null;
}

/** Instructions of the backends that ended while `work` ran (each writes its count when it exits), and how many there were. */
async function countedWhile(countDir: string, work: () => Promise<void>): Promise<{ instructions: number; backends: number }> {
  const before = new Set(readdirSync(countDir));
  await work();
  // A backend writes its count as it exits, just after its client has gone.
  let counts: (number | null)[] = [];
  for (let attempt = 0; attempt < 100; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    counts = readdirSync(countDir)
      .filter((name) => !before.has(name))
      .map((name) => instructionsIn(path.join(countDir, name)));
    if (counts.length > 0 && counts.every((count) => count !== null)) {
      return { instructions: counts.reduce<number>((sum, count) => sum + count!, 0), backends: counts.length };
    }
  }
  // A count missing here would make the run look cheaper than it was.
  throw new Error(`the instructions bench: ${counts.filter((count) => count === null).length} of ${counts.length} backends' counts were not complete after 20 s`);
}

type Contender = (turns: number) => Promise<void>;

function serverContender(url: string, enforcement: "enforce" | "off"): Contender {
  return async (turns) => {
    const server = await startServerProcess(url, { ...SERVER_ENV, CREDIT_ENFORCEMENT: enforcement });
    const agent = userAgent();
    try {
      const user = await createBenchUser(server.graphqlUrl);
      const graphqlUrl = new URL(server.graphqlUrl);
      for (let turn = 0; turn < WARM_TURNS + turns; turn++) await followTurn(agent, graphqlUrl, user, await sendMessage(agent, graphqlUrl, user, "How should we launch?"));
    } finally {
      agent.destroy();
      await server.stop();
    }
  };
}

function baselineContender(url: string, user: BenchUser): Contender {
  return async (turns) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      for (let turn = 0; turn < WARM_TURNS + turns; turn++) await baselineTurn(client, user);
    } finally {
      await client.end();
    }
  };
}

/** Instructions per turn: the difference between a large and a small run on equally many backends, over the turns between them. */
async function perTurn(countDir: string, contender: Contender): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const small = await countedWhile(countDir, () => contender(SMALL_RUN));
    const large = await countedWhile(countDir, () => contender(LARGE_RUN));
    if (small.backends === large.backends) return (large.instructions - small.instructions) / (LARGE_RUN - SMALL_RUN);
    if (attempt === ATTEMPTS) throw new Error(`runs kept opening different numbers of backends (${small.backends} and ${large.backends})`);
  }
}

const millions = (instructions: number) => `${(instructions / 1e6).toFixed(2)} M`;

export async function runPgInstructionsBench(): Promise<void> {
  const bin = postgresBinaries();
  if (!bin || !hasValgrind()) {
    console.log(`skipped: needs valgrind and PostgreSQL's server binaries (${bin ? "valgrind not found" : "no initdb under /usr/lib/postgresql/*/bin; set PG_BIN"})`);
    return;
  }
  const cluster = createCluster(bin, await freePort());
  const countDir = ownedDirectory("pantheon-pg-counts-");
  try {
    // Set up at full speed: the schema, and a session for the baseline's rows.
    await cluster.start();
    const admin = new pg.Client({ connectionString: cluster.adminUrl });
    await admin.connect();
    await admin.query("CREATE DATABASE pantheon");
    await admin.end();
    await migrateDeploy(cluster.url);
    const variant = process.env.PG_INSTRUCTIONS_SQL;
    if (variant) {
      const client = new pg.Client({ connectionString: cluster.url });
      await client.connect();
      await client.query(readFileSync(variant, "utf8")).finally(() => client.end());
      console.log(`variant: ${variant} applied after the migrations`);
    }
    const setupServer = await startServerProcess(cluster.url, SERVER_ENV);
    const baselineUser = await createBenchUser(setupServer.graphqlUrl);
    await setupServer.stop();
    await cluster.stop();

    await cluster.start(countDir);
    const enforce = await perTurn(countDir, serverContender(cluster.url, "enforce"));
    const off = await perTurn(countDir, serverContender(cluster.url, "off"));
    const baseline = await perTurn(countDir, baselineContender(cluster.url, baselineUser));
    console.log(`PostgreSQL instructions per 3-agent turn (callgrind; one user, one connection): enforce ${millions(enforce)}, credits off ${millions(off)}, plain pg baseline ${millions(baseline)}`);
    console.log(
      `baseline ÷ enforce ${((baseline / enforce) * 100).toFixed(1)}% (PostgreSQL's side of the turns ratio); off ÷ enforce ${((off / enforce) * 100).toFixed(1)}% (what enforcing credits adds: ${millions(enforce - off)})`,
    );
  } finally {
    await cluster.stop().catch(() => undefined);
    cluster.remove();
    rmSync(countDir, { recursive: true, force: true });
  }
}
