// Ops commands talk to the configured database over its direct URL, on one
// connection: a pool of one, so their statements run through db/sql.ts like
// the server's (inTransaction takes a pool).
import pg from "pg";
import { ConfigError, loadConfig, type AppConfig } from "../config/env.ts";

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

export async function withDirectConnection<T>(config: AppConfig, run: (db: pg.Pool) => Promise<T>): Promise<T> {
  if (!config.database) {
    console.error("DATABASE_URL is not set: ops commands need the database to act on.");
    process.exit(1);
  }
  const pool = new pg.Pool({ connectionString: config.database.directUrl, max: 1 });
  // Connected up front, so an unreachable database is reported before any work starts.
  const client = await pool.connect().catch((error: unknown) => {
    // One line, by code: the connection string (with its password) never reaches the output.
    const code = (error as { code?: unknown }).code;
    console.error(`The database at DATABASE_URL is unreachable (${typeof code === "string" ? code : "connection failed"}).`);
    process.exit(1);
  });
  client.release();
  try {
    return await run(pool);
  } finally {
    await pool.end();
  }
}

export function fail(message: string): never {
  console.error(message);
  process.exit(2);
}
