// SPEC 11 under real faults, against a server running as its own process:
// (a) backends terminated while 20 users chat, (b) the database cut off and
// restored (a loopback TCP proxy), (c) SIGKILL while an answered call waits
// for the database, then a restart. Each checks, against what the fake
// provider answered: the process stayed up, every answered call has exactly
// one ledger row, no request id twice, no turn RUNNING past its lease, and
// every session accepts its next message.
import { readdir, readFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { startFakeOpenRouter, type FakeOpenRouter } from "./support/fakeOpenRouter.ts";
import { REFERENCE_USAGE } from "./support/councilProvider.ts";
import { startServerProcess, type ServerProcess } from "./support/serverProcess.ts";
import { startTcpProxy, type TcpProxy } from "./support/tcpProxy.ts";
import { auditLedger, chatUntil, createChattingUsers, nextSendsAccepted, waitForNoRunningTurns, type LedgerAudit } from "./support/chaos.ts";
import { TurnDocument } from "./generated/graphql.ts";
import { sendAccepted } from "./fixtures/turns.ts";
import { graphqlClient } from "./support/graphqlClient.ts";

const LEASE_MS = 3_000;
const SERVER_ENV = {
  OPENROUTER_API_KEY: "sk-or-test-fake",
  TURN_LEASE_MS: String(LEASE_MS),
  READINESS_RECHECK_MS: "250",
  RATE_LIMIT_TURNS_PER_MINUTE: "100000",
  RATE_LIMIT_TURNS_PER_HOUR: "1000000",
  DATABASE_POOL_MAX: "10",
};

let database: TestDatabase;
let admin: pg.Pool;
let fake: FakeOpenRouter;
let proxy: TcpProxy;
let agentDelayMs = 20;
let holdAgents: Promise<void> | null = null;
const servers: ServerProcess[] = [];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function startServer(databaseUrl: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const server = await startServerProcess(databaseUrl, { ...SERVER_ENV, OPENROUTER_BASE_URL: fake.baseUrl, ...env });
  servers.push(server);
  return server;
}

/** The audit once the backlog had time to drain: an answered call's row may still be on its way when the turn ended. */
async function settledAudit(timeoutMs = 15_000): Promise<LedgerAudit> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const audit = await auditLedger(admin, fake.answeredIds);
    if ((audit.unmetered === 0 && audit.stuckTurns === 0) || Date.now() > deadline) return audit;
    await sleep(250);
  }
}

function expectExactLedger(audit: LedgerAudit) {
  expect(audit.answered).toBeGreaterThan(0);
  expect({ unmetered: audit.unmetered, duplicates: audit.duplicates, stuckTurns: audit.stuckTurns, endedWithoutReason: audit.endedWithoutReason }).toEqual({ unmetered: 0, duplicates: 0, stuckTurns: 0, endedWithoutReason: 0 });
  // Every row is an answered call (the fake answers every call successfully).
  expect(audit.rows).toBe(audit.answered);
}

beforeAll(async () => {
  database = await createMigratedDatabase("faults");
  admin = new pg.Pool({ connectionString: database.url, max: 3, application_name: "admin" });
  admin.on("error", () => undefined);
  const url = new URL(database.url);
  proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
  fake = await startFakeOpenRouter(async (call) => {
    if (holdAgents) await holdAgents;
    await sleep(agentDelayMs);
    return { kind: "stream", content: `Answer ${call.index}.`, usage: REFERENCE_USAGE };
  });
});

afterAll(async () => {
  for (const server of servers) await server.stop("SIGKILL");
  await proxy?.close();
  await fake?.close();
  await admin?.end();
  await database?.drop();
});

test("(a) backends terminated again and again while 20 users chat: no crash, every answered call metered once, no stuck turn", async () => {
  const server = await startServer(database.url);
  const users = await createChattingUsers(server.graphqlUrl, 20);
  const until = Date.now() + 8_000;
  const chatting = chatUntil(users, until);
  let terminations = 0;
  while (Date.now() < until - 1_000) {
    await sleep(250);
    const { rowCount } = await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND application_name <> 'admin'", [database.name]);
    terminations += rowCount ?? 0;
  }
  const tally = await chatting;
  expect(terminations).toBeGreaterThan(20);
  expect(tally.accepted).toBeGreaterThan(20);
  expect(await waitForNoRunningTurns(admin, LEASE_MS * 4)).toBe(0);
  expect(server.child.exitCode).toBeNull();
  expectExactLedger(await settledAudit());
  expect(await nextSendsAccepted(users)).toBe(users.length);
}, 90_000);

test("(b) the database cut off for longer than a lease and restored: no crash, the ledger exact, the server serves again at once", async () => {
  const server = await startServer(proxy.url(database.url));
  const users = await createChattingUsers(server.graphqlUrl, 10);
  agentDelayMs = 300;
  const until = Date.now() + 10_000;
  const chatting = chatUntil(users, until);
  await sleep(2_000);
  proxy.cut();
  await sleep(LEASE_MS + 2_000);
  proxy.restore();
  const restoredAt = Date.now();
  // Served again as soon as the database is back: the first request that succeeds.
  for (;;) {
    const turn = await users[0]!.client(TurnDocument, { id: "00000000-0000-0000-0000-000000000000" }).catch(() => null);
    if (turn && !turn.errors) break;
    await sleep(50);
  }
  expect(Date.now() - restoredAt).toBeLessThan(2_000);
  await chatting;
  agentDelayMs = 20;
  expect(await waitForNoRunningTurns(admin, LEASE_MS * 4)).toBe(0);
  expect(server.child.exitCode).toBeNull();
  expectExactLedger(await settledAudit());
  expect(await nextSendsAccepted(users)).toBe(users.length);
}, 90_000);

async function bufferHolds(dir: string, requestId: string): Promise<boolean> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if ((await readFile(path.join(dir, name), "utf8").catch(() => "")).includes(requestId)) return true;
  }
  return false;
}

test("(c) SIGKILL while an answered call waits for the database: the restarted server commits its row from the disk buffer, the turn ends by its lease", async () => {
  const bufferDir = await mkdtemp(path.join(tmpdir(), "pantheon-faults-buffer-"));
  try {
    // The pool goes through the proxy; DATABASE_URL (which names the database a buffer belongs to) is the direct one, as in production.
    const first = await startServer(database.url, { LEDGER_BUFFER_DIR: bufferDir, DATABASE_POOL_URL: proxy.url(database.url) });
    const [user] = await createChattingUsers(first.graphqlUrl, 1, 1);
    let release!: () => void;
    holdAgents = new Promise((resolve) => (release = resolve));
    const answeredBefore = fake.answeredIds.length;
    const turnId = await sendAccepted(user!.client, user!.sessionId, "Go");
    while (fake.calls.length === 0 || !fake.calls.some((call) => call.body.messages.some((message) => message.content === "Go"))) await sleep(20);
    proxy.cut();
    release();
    holdAgents = null;
    while (fake.answeredIds.length === answeredBefore) await sleep(20);
    const answeredId = fake.answeredIds.at(-1)!;
    // The row reaches the disk buffer before any commit is tried; the database is away, so that is all that holds it.
    while (!(await bufferHolds(bufferDir, answeredId))) await sleep(20);
    await first.stop("SIGKILL");
    proxy.restore();
    expect((await admin.query("SELECT 1 FROM llm_call_events WHERE request_id = $1", [answeredId])).rowCount).toBe(0);

    const second = await startServer(database.url, { LEDGER_BUFFER_DIR: bufferDir });
    const client = graphqlClient(second.graphqlUrl, user!.token);
    expectExactLedger(await settledAudit());
    // The killed server's turn: RUNNING until its lease lapses, then ended by the first instance that notices.
    const deadline = Date.now() + LEASE_MS * 4;
    let status = "RUNNING";
    while (status === "RUNNING" && Date.now() < deadline) {
      await sleep(200);
      status = (await client(TurnDocument, { id: turnId })).data?.turn?.status ?? "MISSING";
    }
    expect(status).toBe("FAILED");
    const { rows } = await admin.query<{ error: string }>("SELECT error FROM turns WHERE id = $1", [turnId]);
    expect(rows[0]!.error).toMatch(/^Interrupted/);
    expect(await nextSendsAccepted([{ client, sessionId: user!.sessionId, token: user!.token }])).toBe(1);
    expect(second.child.exitCode).toBeNull();
  } finally {
    await rm(bufferDir, { recursive: true, force: true });
  }
}, 90_000);
