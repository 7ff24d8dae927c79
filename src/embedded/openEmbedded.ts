// Opening the embedded development database for a server or an ops command:
// the data folder is locked first (dataDirLock.ts), then PGlite starts on a
// loopback port and, since the embedded database is development-only, it is
// the one database the app migrates itself (`migrate deploy`, a few seconds,
// only when a migration is pending). A server tells its URL through the lock,
// so ops commands run while it serves act on the same database.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { createDb, type DbHandle } from "../db.ts";
import { queryOne, sql } from "../db/sql.ts";
import { checkMigrationGate } from "../gates/migrationGate.ts";
import { readLocalMigrations } from "../gates/localMigrations.ts";
import { lockDataDir, type DataDirHolder } from "./dataDirLock.ts";
import { startEmbeddedDatabase } from "./pglite.ts";

const run = promisify(execFile);

export interface OpenedEmbedded {
  url: string;
  /** What was done to it: "migrations applied" or "up to date". */
  state: string;
  stop(): Promise<void>;
}

export async function openEmbeddedDatabase(dataDir: string, role: DataDirHolder["role"], say: (line: string) => void): Promise<OpenedEmbedded> {
  const lock = await lockDataDir(dataDir, role);
  try {
    say(`Starting the embedded database in ${dataDir} …`);
    const embedded = await startEmbeddedDatabase(dataDir);
    try {
      const pending = await pendingMigrations(embedded.url);
      if (pending > 0) {
        say(`Applying ${pending} migration${pending === 1 ? "" : "s"} to the embedded database …`);
        await run("npx", ["prisma", "migrate", "deploy"], { env: { ...process.env, DATABASE_URL: embedded.url } });
      }
      lock.announce(embedded.url);
      return {
        url: embedded.url,
        state: pending > 0 ? "migrations applied" : "up to date",
        async stop() {
          await embedded.stop();
          await lock.release();
        },
      };
    } catch (error) {
      await embedded.stop();
      throw error;
    }
  } catch (error) {
    await lock.release();
    throw error;
  }
}

/** Shipped migrations the database has not applied (Gate A's own comparison). */
async function pendingMigrations(url: string): Promise<number> {
  const db = createDb({ poolUrl: url, poolMax: 1, singleSession: true });
  try {
    const shipped = await readLocalMigrations();
    const reasons = await checkMigrationGate(db.pool, shipped);
    return reasons.length === 0 ? 0 : Math.max(1, shipped.length - (await appliedCount(db)));
  } finally {
    await db.close();
  }
}

async function appliedCount(db: DbHandle): Promise<number> {
  const table = await queryOne<{ present: boolean }>(db.pool, sql`SELECT to_regclass('public._prisma_migrations') IS NOT NULL AS present`);
  if (!table?.present) return 0;
  const applied = await queryOne<{ count: number }>(db.pool, sql`SELECT count(*)::int AS count FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`);
  return applied?.count ?? 0;
}
