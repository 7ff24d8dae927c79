// Chaos benchmark (`npm run bench -- chaos`): 20 users chat with roundtable
// councils (a loopback fake OpenRouter, 100 ms per answer) against the server
// running as its own process, its pool behind a loopback TCP proxy. First a
// fault-free baseline, then 60 s with faults: backends terminated every
// 250 ms for 20 s, then the database cut off for 8 s (longer than the 5 s
// lease) and restored. Prints turns, answered calls, ledger rows, unmetered
// calls, duplicate request ids, stuck turns, turns ended without a stop
// reason and overspend under credit enforcement (every call held before it
// runs: all must be 0), the turns' stop reasons, the
// time from the database's return to the first served request, and the
// throughput under faults as a ratio of the baseline measured in the same run.
import pg from "pg";
import { createMigratedDatabase } from "../test/support/database.ts";
import { startFakeOpenRouter } from "../test/support/fakeOpenRouter.ts";
import { REFERENCE_USAGE } from "../test/support/councilProvider.ts";
import { startServerProcess } from "../test/support/serverProcess.ts";
import { startTcpProxy } from "../test/support/tcpProxy.ts";
import { auditLedger, chatUntil, createChattingUsers, nextSendsAccepted, waitForNoRunningTurns } from "../test/support/chaos.ts";
import { TurnDocument } from "../test/generated/graphql.ts";

const USERS = 20;
const BASELINE_MS = 15_000;
const CHAOS_MS = 60_000;
const TERMINATE_FROM_MS = 5_000;
const TERMINATE_UNTIL_MS = 25_000;
const TERMINATE_EVERY_MS = 250;
const OUTAGE_AT_MS = 30_000;
const OUTAGE_MS = 8_000;
const LEASE_MS = 5_000;
const PROVIDER_DELAY_MS = 100;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runChaosBench(): Promise<void> {
  const database = await createMigratedDatabase("bench_chaos");
  const admin = new pg.Pool({ connectionString: database.url, max: 2, application_name: "chaos-admin" });
  admin.on("error", () => undefined);
  const target = new URL(database.url);
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const fake = await startFakeOpenRouter(async (call) => {
    await sleep(PROVIDER_DELAY_MS);
    return { kind: "stream", content: `Answer ${call.index}.`, usage: REFERENCE_USAGE };
  });
  const server = await startServerProcess(database.url, {
    DATABASE_POOL_URL: proxy.url(database.url),
    OPENROUTER_API_KEY: "sk-or-bench-fake",
    OPENROUTER_BASE_URL: fake.baseUrl,
    CREDIT_ENFORCEMENT: "enforce",
    TURN_LEASE_MS: String(LEASE_MS),
    RATE_LIMIT_TURNS_PER_MINUTE: "100000",
    RATE_LIMIT_TURNS_PER_HOUR: "1000000",
  });
  try {
    const users = await createChattingUsers(server.graphqlUrl, USERS);
    const baseline = await chatUntil(users, Date.now() + BASELINE_MS);
    const started = Date.now();
    const chatting = chatUntil(users, started + CHAOS_MS);
    let terminated = 0;
    await sleep(TERMINATE_FROM_MS);
    while (Date.now() - started < TERMINATE_UNTIL_MS) {
      const { rowCount } = await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name <> 'chaos-admin'", [database.name]);
      terminated += rowCount ?? 0;
      await sleep(TERMINATE_EVERY_MS);
    }
    await sleep(Math.max(0, started + OUTAGE_AT_MS - Date.now()));
    proxy.cut();
    await sleep(OUTAGE_MS);
    proxy.restore();
    const restoredAt = Date.now();
    let recoveryMs = -1;
    while (recoveryMs < 0 && Date.now() - restoredAt < 30_000) {
      const probe = await users[0]!.client(TurnDocument, { id: "00000000-0000-0000-0000-000000000000" }).catch(() => null);
      if (probe && !probe.errors) recoveryMs = Date.now() - restoredAt;
      else await sleep(10);
    }
    const faulted = await chatting;
    const stillRunning = await waitForNoRunningTurns(admin, LEASE_MS * 4);
    let audit = await auditLedger(admin, fake.answeredIds);
    for (const deadline = Date.now() + 20_000; audit.unmetered > 0 && Date.now() < deadline; audit = await auditLedger(admin, fake.answeredIds)) await sleep(250);
    const acceptedAfter = await nextSendsAccepted(users);
    const baselineRate = baseline.accepted / (BASELINE_MS / 1000);
    const faultedRate = faulted.accepted / (CHAOS_MS / 1000);
    console.log(`baseline (no faults, ${BASELINE_MS / 1000} s)   ${baseline.accepted} turns accepted, ${baselineRate.toFixed(1)} turns/s`);
    console.log(`chaos (${CHAOS_MS / 1000} s)                 ${faulted.sent} sends, ${faulted.accepted} turns accepted (${faultedRate.toFixed(1)} turns/s, ${((faultedRate / baselineRate) * 100).toFixed(0)}% of baseline), ${faulted.failed} requests failed during faults`);
    console.log(`faults                        ${terminated} backends terminated; database cut off for ${OUTAGE_MS / 1000} s (lease ${LEASE_MS / 1000} s)`);
    console.log(`ledger                        ${audit.answered} answered calls, ${audit.rows} ledger rows, unmetered ${audit.unmetered}, duplicates ${audit.duplicates}`);
    console.log(`credits (enforce)             overspend ${audit.overspend} (calls charged beyond their hold, wallets below zero); still held after the run ${audit.held}`);
    console.log(`turns                         stuck (running past their lease) ${audit.stuckTurns}; running after the run ${stillRunning}; next send accepted in ${acceptedAfter} of ${users.length} sessions`);
    const reasons = Object.entries(audit.stopReasons).map(([reason, count]) => `${reason} ${count}`).join(", ");
    console.log(`stop reasons                  ${reasons}; ended without one ${audit.endedWithoutReason}`);
    console.log(`recovery                      first served request ${recoveryMs} ms after the database's return; server process ${server.child.exitCode === null ? "up" : `exited with ${server.child.exitCode}`}`);
    const ok =
      audit.unmetered === 0 &&
      audit.duplicates === 0 &&
      audit.stuckTurns === 0 &&
      audit.overspend === 0 &&
      Number(audit.held) === 0 &&
      audit.endedWithoutReason === 0 &&
      server.child.exitCode === null &&
      acceptedAfter === users.length;
    console.log(`verdict: ${ok ? "exactly-once metering held, no stuck turn, no crash" : "FAILED"}`);
  } finally {
    await server.stop();
    await proxy.close();
    await fake.close();
    await admin.end();
    await database.drop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runChaosBench();
