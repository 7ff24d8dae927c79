// Wires the services a server needs from the configuration: the database
// (configured, or the embedded development one) and the readiness gates.
import { randomUUID } from "node:crypto";
import path from "node:path";
import type { AppConfig } from "./config/env.ts";
import type pg from "pg";
import { createDb, type Db, type DbHandle } from "./db.ts";
import type { HotStatements } from "./db/statements.ts";
import { Authenticator } from "./auth/authenticator.ts";
import type { Readiness } from "./gates/readiness.ts";
import { LedgerJournal } from "./metering/ledgerJournal.ts";
import { LedgerWriter } from "./metering/ledgerWriter.ts";
import type { LedgerRow } from "./metering/ledger.ts";
import { Metrics } from "./observability/metrics.ts";
import { createEventChannel } from "./turns/eventChannel.ts";
import { startTracing, stopTracing } from "./observability/tracing.ts";
import { announce, logger } from "./observability/logger.ts";
import { openEmbeddedDatabase } from "./embedded/openEmbedded.ts";
import { ReadinessMonitor } from "./gates/readiness.ts";
import { checkMigrationGate } from "./gates/migrationGate.ts";
import { checkKeyRotationGate } from "./gates/keyRotationGate.ts";
import { checkRoutingGate } from "./gates/routingGate.ts";
import { Admission } from "./gates/admission.ts";
import { createGateway } from "./llm/gateway.ts";
import { TurnService } from "./turns/service.ts";
import { WalletEventFeed } from "./credits/walletEventFeed.ts";
import { WalletWebhookSender } from "./credits/walletWebhook.ts";

/** On close, how long turns still running may take to write what they have. */
const CLOSE_DRAIN_MS = 5_000;
/** How often wallet events are read while anyone subscribes to them (the subscription's latency). */
const WALLET_EVENT_POLL_MS = 1_000;

/** The services a server runs on, wired once here and handed to the GraphQL layer and the engine. */
export interface AppServices {
  config: AppConfig;
  prisma: Db;
  /** The pg pool under Prisma, for statements written by hand (db/sql.ts). */
  pool: pg.Pool;
  /** How hot statements are sent (prepared unless behind a transaction pooler). */
  statements: HotStatements;
  readiness: Readiness;
  admission: Admission;
  /** Turns a request's token into its viewer; forgets a user's cached account state after an owner changed it. */
  accounts: Authenticator;
  /** The turn engine: accepts messages, runs turns, carries their events. */
  turns: TurnService;
  /** Every usage-ledger row is recorded through it (disk buffer, retries). */
  ledger: LedgerWriter;
  metrics: Metrics;
  /** Low-balance events for walletEvents subscribers on this instance. */
  walletEvents: WalletEventFeed;
}

export interface Runtime extends AppServices {
  databaseLabel: string;
  close(): Promise<void>;
}

/** The embedded development database, opened for this server (its folder locked while it runs). */
async function embeddedDatabase(config: AppConfig) {
  const embedded = await openEmbeddedDatabase(config.embeddedDataDir, "server", (line) => announce(line));
  announce(`Embedded database ready (${embedded.state}): ${embedded.url}`);
  announce("  psql and the ops commands (npm run check, credits, admin …) reach it there while this server runs.");
  return { ...embedded, label: `embedded PGlite at ${config.embeddedDataDir} (embedded database: ${embedded.state})` };
}

/** Which database a ledger buffer belongs to: rows are only ever replayed into the database they were metered for. */
function databaseKey(config: AppConfig): string {
  if (!config.database) return `embedded:${path.resolve(config.embeddedDataDir)}`;
  const url = new URL(config.database.directUrl);
  return `postgres:${url.hostname}:${url.port || "5432"}${url.pathname}`;
}

async function startLedger(config: AppConfig, db: DbHandle, instanceId: string): Promise<LedgerWriter> {
  const log = (line: string) => logger.warn({ component: "ledger" }, line);
  const journal = await LedgerJournal.open<LedgerRow>({ dir: path.resolve(config.ledgerBufferDir), databaseKey: databaseKey(config), instanceId, log });
  const ledger = new LedgerWriter({ pool: db.pool, statements: db.statements, journal, commitDeadlineMs: config.turnLeaseMs / 2, log });
  await ledger.start();
  return ledger;
}

export async function startRuntime(config: AppConfig): Promise<Runtime> {
  if (!config.database && config.isProduction) throw new Error("production requires DATABASE_URL and DATABASE_POOL_URL");
  // Before the pool exists: with tracing on, createDb wraps it.
  await startTracing(config.tracing);
  const embedded = config.database ? null : await embeddedDatabase(config);
  const database = config.database ?? { directUrl: embedded!.url, poolUrl: embedded!.url, poolMax: 1, poolMode: "direct" as const };
  const db = createDb({ ...database, singleSession: embedded !== null });
  const readiness = new ReadinessMonitor({
    checkMigrations: () => checkMigrationGate(db.pool),
    dependentGates: [
      { gate: "routing", required: () => false, check: () => checkRoutingGate(db.pool) },
      {
        gate: "keyRotation",
        required: () => config.rolloutStage === "broad",
        check: () => checkKeyRotationGate(db.pool, config.supabaseServiceRoleKey),
      },
    ],
    recheckMs: config.readinessRecheckMs,
    refreshMs: config.readinessRefreshMs,
  });
  await readiness.start();
  const instanceId = randomUUID();
  const ledger = await startLedger(config, db, instanceId);
  const metrics = new Metrics();
  const channel = createEventChannel(config.redisUrl);
  const turns = new TurnService({ prisma: db.prisma, pool: db.pool, statements: db.statements, gateway: createGateway(config, { metrics }), ledger, config, instanceId, metrics, channel, readiness });
  metrics.observe({ pool: db.pool, readiness, ledger });
  // No other instance can use the embedded database: turns it shows running were cut by this process's previous run.
  if (embedded && readiness.migrations().ok) await turns.endAllRunning();
  turns.start();
  const walletEvents = new WalletEventFeed({ pool: db.pool, pollMs: WALLET_EVENT_POLL_MS });
  const walletWebhook = config.credits.alertWebhook && new WalletWebhookSender({ pool: db.pool, config: config.credits.alertWebhook });
  walletWebhook?.start();
  const admission = new Admission(config, db.prisma, () => readiness.gate("keyRotation"));
  return {
    config,
    accounts: new Authenticator({ config, prisma: db.prisma, readiness, admission }),
    prisma: db.prisma,
    pool: db.pool,
    statements: db.statements,
    ledger,
    metrics,
    readiness,
    admission,
    turns,
    walletEvents,
    databaseLabel: embedded ? embedded.label : "configured PostgreSQL",
    async close() {
      readiness.stop();
      turns.stop();
      walletEvents.close();
      await walletWebhook?.stop();
      // Turns were given their time (SIGTERM: the deadline); a provider call still in flight is not waited for.
      await turns.drainWithin(CLOSE_DRAIN_MS);
      await ledger.close();
      await channel.close();
      await db.close();
      await embedded?.stop();
      await stopTracing();
    },
  };
}
