// Ops commands talk to the configured database over its direct URL.
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

export async function withDirectConnection<T>(config: AppConfig, run: (client: pg.Client) => Promise<T>): Promise<T> {
  if (!config.database) {
    console.error("DATABASE_URL is not set: ops commands need the database to act on.");
    process.exit(1);
  }
  const client = new pg.Client({ connectionString: config.database.directUrl });
  await client.connect().catch((error: unknown) => {
    // One line, by code: the connection string (with its password) never reaches the output.
    const code = (error as { code?: unknown }).code;
    console.error(`The database at DATABASE_URL is unreachable (${typeof code === "string" ? code : "connection failed"}).`);
    process.exit(1);
  });
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

export function fail(message: string): never {
  console.error(message);
  process.exit(2);
}
