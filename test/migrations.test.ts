// The migration path ops use: `prisma migrate deploy` on a fresh database, again
// (no change), `prisma migrate status` up to date, and atomic migrations.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createEmptyDatabase, migrateDeploy, prismaCli, type TestDatabase } from "./support/database.ts";
import { readLocalMigrations } from "../src/gates/localMigrations.ts";
import { createMigrationWorkdir, type MigrationWorkdir } from "./support/migrationWorkdir.ts";

let database: TestDatabase;

beforeAll(async () => {
  database = await createEmptyDatabase("migrations");
});
afterAll(async () => {
  await database?.drop();
});

async function appliedMigrations(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
      "SELECT migration_name, checksum, finished_at FROM _prisma_migrations ORDER BY migration_name",
    );
    return rows;
  } finally {
    await client.end();
  }
}

describe("prisma migrate deploy", () => {
  test("applies every shipped migration to a fresh database, recording Prisma's checksum", async () => {
    const output = await migrateDeploy(database.url);
    expect(output).toContain("All migrations have been successfully applied");
    const local = await readLocalMigrations();
    const applied = await appliedMigrations(database.url);
    expect(applied.map((row) => row.migration_name)).toEqual(local.map((migration) => migration.name));
    for (const [index, row] of applied.entries()) {
      expect(row.finished_at).not.toBeNull();
      expect(local[index]!.checksums[0]).toBe(row.checksum);
    }
  });

  test("running it again changes nothing", async () => {
    const before = await appliedMigrations(database.url);
    const output = await migrateDeploy(database.url);
    expect(output).toContain("No pending migrations to apply");
    expect(await appliedMigrations(database.url)).toEqual(before);
  });

  test("prisma migrate status reports the database up to date", async () => {
    const { stdout } = await prismaCli(["migrate", "status"], database.url);
    expect(stdout).toContain("Database schema is up to date!");
  });
});

describe("migrations are atomic", () => {
  let scratch: TestDatabase;
  let workdir: MigrationWorkdir;

  beforeAll(async () => {
    scratch = await createEmptyDatabase("atomic");
    workdir = await createMigrationWorkdir({ copyMigrations: false });
  });
  afterAll(async () => {
    await scratch?.drop();
    await workdir?.remove();
  });

  test("a migration failing halfway leaves none of its statements applied", async () => {
    await workdir.write(
      "20260101000000_half",
      [
        "CREATE TABLE first_half (id int);",
        "CREATE FUNCTION uses_semicolons() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END; $$;",
        "SELECT 1/0;",
      ].join("\n"),
    );
    const failure = await prismaCli(["migrate", "deploy"], scratch.url, workdir.dir).then(
      () => "succeeded",
      (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ""}${error.stderr ?? ""}`,
    );
    expect(failure).toMatch(/division by zero/);
    const client = new pg.Client({ connectionString: scratch.url });
    await client.connect();
    const { rows } = await client.query("SELECT to_regclass('public.first_half') AS t, to_regproc('uses_semicolons') AS f");
    await client.end();
    expect(rows[0]).toEqual({ t: null, f: null });
  });
});
