// Wires the services a server needs from the configuration: the database
// (configured, or the embedded development one) and the readiness gates.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { AppConfig } from "./config/env.ts";
import type { AppServices } from "./context.ts";
import { createDb } from "./db.ts";
import { startEmbeddedDatabase } from "./embedded/pglite.ts";
import { ReadinessMonitor } from "./gates/readiness.ts";
import { checkMigrationGate } from "./gates/migrationGate.ts";
import { checkKeyRotationGate } from "./gates/keyRotationGate.ts";
import { checkRoutingGate } from "./gates/routingGate.ts";
import { Admission } from "./gates/admission.ts";
import { createGateway } from "./llm/gateway.ts";
import { TurnService } from "./turns/service.ts";

const run = promisify(execFile);

export interface Runtime extends AppServices {
  databaseLabel: string;
  close(): Promise<void>;
}

/** The embedded database is development-only, so it is the one database the server migrates itself. */
async function embeddedDatabase(config: AppConfig) {
  const embedded = await startEmbeddedDatabase(config.embeddedDataDir);
  try {
    const { stdout } = await run("npx", ["prisma", "migrate", "deploy"], { env: { ...process.env, DATABASE_URL: embedded.url } });
    const applied = /No pending migrations/.test(stdout) ? "up to date" : "migrations applied";
    return { ...embedded, label: `embedded PGlite at ${config.embeddedDataDir} (embedded database: ${applied})` };
  } catch (error) {
    await embedded.stop();
    throw error;
  }
}

export async function startRuntime(config: AppConfig): Promise<Runtime> {
  if (!config.database && config.isProduction) throw new Error("production requires DATABASE_URL and DATABASE_POOL_URL");
  const embedded = config.database ? null : await embeddedDatabase(config);
  const database = config.database ?? { directUrl: embedded!.url, poolUrl: embedded!.url, poolMax: 1, behindTransactionPooler: false };
  const db = createDb(database);
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
  });
  await readiness.start();
  const turns = new TurnService({ prisma: db.prisma, pool: db.pool, statements: db.statements, gateway: createGateway(config), config });
  return {
    config,
    prisma: db.prisma,
    pool: db.pool,
    statements: db.statements,
    readiness,
    admission: new Admission(config, db.prisma, () => readiness.gate("keyRotation")),
    turns,
    databaseLabel: embedded ? embedded.label : "configured PostgreSQL",
    async close() {
      readiness.stop();
      await turns.drain();
      await db.close();
      await embedded?.stop();
    },
  };
}
