// Ops commands talk to the configured database over its direct URL, on one
// connection: a pool of one, so their statements run through db/sql.ts like
// the server's (inTransaction takes a pool). Without DATABASE_URL they act on
// the embedded development database: the one a running server serves (its data
// folder's lock says where), else opened here for the command.
import pg from "pg";
import { ConfigError, loadConfig, type AppConfig } from "../config/env.ts";
import { DataDirLocked, lockHolder } from "../embedded/dataDirLock.ts";
import { openEmbeddedDatabase } from "../embedded/openEmbedded.ts";

export function loadConfigOrExit(): AppConfig {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}

interface Target {
  url: string;
  /** What the unreachable-database line names. */
  name: string;
  close(): Promise<void>;
}

/** Without DATABASE_URL: the running server's embedded database, or the embedded database opened for this command. */
async function embeddedTarget(dataDir: string): Promise<Target> {
  const holder = await lockHolder(dataDir);
  if (holder?.url) {
    console.error(`Using the embedded database of the server running on ${dataDir} (pid ${holder.pid}).`);
    return { url: holder.url, name: "the embedded database", close: async () => undefined };
  }
  try {
    const embedded = await openEmbeddedDatabase(dataDir, "command", (line) => console.error(line));
    console.error(`Using the embedded database in ${dataDir} (no server is running on it).`);
    return { url: embedded.url, name: "the embedded database", close: () => embedded.stop() };
  } catch (error) {
    if (error instanceof DataDirLocked) fail(error.message);
    throw error;
  }
}

export async function withDirectConnection<T>(config: AppConfig, run: (db: pg.Pool) => Promise<T>): Promise<T> {
  const target: Target = config.database ? { url: config.database.directUrl, name: "The database at DATABASE_URL", close: async () => undefined } : await embeddedTarget(config.embeddedDataDir);
  const pool = new pg.Pool({ connectionString: target.url, max: 1 });
  try {
    // Connected up front, so an unreachable database is reported before any work starts.
    const client = await pool.connect().catch((error: unknown) => {
      // One line, by code: the connection string (with its password) never reaches the output.
      const code = (error as { code?: unknown }).code;
      console.error(`${target.name} is unreachable (${typeof code === "string" ? code : "connection failed"}).`);
      process.exit(1);
    });
    client.release();
    return await run(pool);
  } finally {
    await pool.end();
    await target.close();
  }
}

export function fail(message: string): never {
  console.error(message);
  process.exit(2);
}
