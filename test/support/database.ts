// Each test file gets its own freshly created PostgreSQL database, migrated by
// the real `prisma migrate deploy`, and dropped when the file is done.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll } from "vitest";

const run = promisify(execFile);

export const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Creates an empty database with a unique name. */
export async function createEmptyDatabase(label = "t"): Promise<TestDatabase> {
  const name = `pantheon_${label}_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`.toLowerCase();
  await adminQuery(`CREATE DATABASE "${name}"`);
  return {
    name,
    url: databaseUrl(name),
    drop: () => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

export async function prismaCli(args: string[], url: string, cwd = process.cwd()): Promise<{ stdout: string; stderr: string }> {
  return run("npx", ["prisma", ...args], {
    env: { ...process.env, DATABASE_URL: url },
    cwd,
    timeout: 120_000,
  });
}

export async function migrateDeploy(url: string): Promise<string> {
  const { stdout } = await prismaCli(["migrate", "deploy"], url);
  return stdout;
}

/** Creates a uniquely named database migrated with `prisma migrate deploy`. */
export async function createMigratedDatabase(label = "t"): Promise<TestDatabase> {
  const database = await createEmptyDatabase(label);
  try {
    await migrateDeploy(database.url);
  } catch (error) {
    await database.drop();
    throw error;
  }
  return database;
}

export interface ConnectedDatabase {
  database: TestDatabase;
  client: pg.Client;
}

/** A migrated database with one open connection for the whole test file, dropped after it. */
export function useMigratedDatabase(label: string): ConnectedDatabase {
  const handle = {} as ConnectedDatabase;
  beforeAll(async () => {
    handle.database = await createMigratedDatabase(label);
    handle.client = new pg.Client({ connectionString: handle.database.url });
    await handle.client.connect();
  });
  afterAll(async () => {
    await handle.client?.end();
    await handle.database?.drop();
  });
  return handle;
}
