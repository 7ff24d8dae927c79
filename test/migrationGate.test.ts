// Gate A, failing for real in each way it can, with its specific reason.
import path from "node:path";
import fs from "node:fs/promises";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createEmptyDatabase, prismaCli, useMigratedDatabase } from "./support/database.ts";
import { createMigrationWorkdir, type MigrationWorkdir } from "./support/migrationWorkdir.ts";
import { checkMigrationGate } from "../src/gates/migrationGate.ts";
import { readLocalMigrations } from "../src/gates/localMigrations.ts";

const connected = useMigratedDatabase("gate_a");

/** Applies damage inside a transaction, checks the gate on that connection, rolls back. */
async function reasonsAfter(damage: string): Promise<string[]> {
  await connected.client.query("BEGIN");
  try {
    await connected.client.query(damage);
    return await checkMigrationGate(connected.client);
  } finally {
    await connected.client.query("ROLLBACK");
  }
}

describe("Gate A", () => {
  test("passes on a database migrated with prisma migrate deploy", async () => {
    expect(await checkMigrationGate(connected.client)).toEqual([]);
  });

  test("names the tables missing on an empty database", async () => {
    const empty = await createEmptyDatabase("gate_a_empty");
    const emptyClient = new pg.Client({ connectionString: empty.url });
    await emptyClient.connect();
    try {
      expect(await checkMigrationGate(emptyClient)).toEqual([
        expect.stringMatching(/no migrations applied \(table _prisma_migrations missing\)/),
      ]);
    } finally {
      await emptyClient.end();
      await empty.drop();
    }
  });

  test.each([
    ["a dropped index", "DROP INDEX uq_llm_call_events_request_id", "index uq_llm_call_events_request_id missing"],
    [
      "a non-partial request_id index",
      "DROP INDEX uq_llm_call_events_request_id; CREATE UNIQUE INDEX uq_llm_call_events_request_id ON llm_call_events (request_id)",
      "index uq_llm_call_events_request_id has predicate none, expected WHERE request_id is not null",
    ],
    [
      "a column with the wrong type",
      "ALTER TABLE llm_call_events ALTER COLUMN provider TYPE varchar(64)",
      "column llm_call_events.provider has type character varying(64), expected character varying(32)",
    ],
    [
      "a column with the wrong nullability",
      "ALTER TABLE llm_call_events ALTER COLUMN latency_ms SET NOT NULL",
      "column llm_call_events.latency_ms is NOT NULL, expected nullable",
    ],
    [
      "a money column that became a float",
      "ALTER TABLE llm_call_events ALTER COLUMN credits_burned TYPE double precision",
      "column llm_call_events.credits_burned has type double precision, expected numeric(20,4)",
    ],
    [
      "a changed FK delete rule",
      `ALTER TABLE llm_call_events DROP CONSTRAINT llm_call_events_room_id_fkey;
       ALTER TABLE llm_call_events ADD CONSTRAINT llm_call_events_room_id_fkey FOREIGN KEY (room_id) REFERENCES rooms(id) ON DELETE CASCADE`,
      "foreign key llm_call_events.room_id is ON DELETE CASCADE, expected ON DELETE SET NULL",
    ],
    [
      "a dropped FK",
      "ALTER TABLE llm_call_events DROP CONSTRAINT llm_call_events_user_id_fkey",
      "foreign key llm_call_events.user_id → users(id) missing",
    ],
    ["a dropped column", "ALTER TABLE llm_call_events DROP COLUMN request_id", "column llm_call_events.request_id missing"],
    ["a dropped ledger table", "DROP TABLE llm_call_events CASCADE", "table llm_call_events missing"],
    ["another dropped table", "DROP TABLE room_agents", "table room_agents missing although its migrations are recorded as applied"],
  ])("fails on %s", async (_label, damage, reason) => {
    expect(await reasonsAfter(damage)).toContain(reason);
  });

  test("fails on a migration row that started and never finished", async () => {
    const reasons = await reasonsAfter(
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count, logs)
       VALUES ('f0000000-0000-0000-0000-000000000000', 'x', '20260301000000_broken', now(), 0, 'error')`,
    );
    expect(reasons).toContain("migration 20260301000000_broken failed (started, never finished); resolve it with prisma migrate resolve");
  });
});

describe("Gate A against a changed migration history", () => {
  let workdir: MigrationWorkdir;

  beforeAll(async () => {
    workdir = await createMigrationWorkdir({ copyMigrations: true });
  });
  afterAll(async () => {
    await workdir?.remove();
  });

  test("fails when the build ships a migration the database has not applied", async () => {
    await workdir.write("20991231000000_future", "CREATE TABLE future_feature (id int);\n");
    const local = await readLocalMigrations(workdir.migrationsDir);
    expect(await checkMigrationGate(connected.client, local)).toEqual(["migration 20991231000000_future not applied"]);
    await fs.rm(path.join(workdir.migrationsDir, "20991231000000_future"), { recursive: true });
  });

  test("fails when an applied migration file was edited (checksum)", async () => {
    const [first] = await readLocalMigrations(workdir.migrationsDir);
    await fs.appendFile(path.join(workdir.migrationsDir, first!.name, "migration.sql"), "\n-- edited after it was applied\n");
    const local = await readLocalMigrations(workdir.migrationsDir);
    expect(await checkMigrationGate(connected.client, local)).toEqual([
      `checksum mismatch for migration ${first!.name}: the file differs from what was applied`,
    ]);
  });

  test("reports every problem at once: a checksum mismatch does not hide a missing ledger index", async () => {
    const fresh = await createMigrationWorkdir({ copyMigrations: true });
    await connected.client.query("DROP INDEX idx_llm_call_events_turn_id");
    try {
      const [first] = await readLocalMigrations(fresh.migrationsDir);
      await fs.appendFile(path.join(fresh.migrationsDir, first!.name, "migration.sql"), "\n-- edited after it was applied\n");
      const reasons = await checkMigrationGate(connected.client, await readLocalMigrations(fresh.migrationsDir));
      expect(reasons).toContain(`checksum mismatch for migration ${first!.name}: the file differs from what was applied`);
      expect(reasons).toContain("index idx_llm_call_events_turn_id missing");
    } finally {
      await connected.client.query('CREATE INDEX idx_llm_call_events_turn_id ON llm_call_events ("turn_id")');
      await fresh.remove();
    }
  });

  test("a line-ending-only change is not a checksum mismatch, as for Prisma", async () => {
    const fresh = await createMigrationWorkdir({ copyMigrations: true });
    try {
      const [first] = await readLocalMigrations(fresh.migrationsDir);
      const file = path.join(fresh.migrationsDir, first!.name, "migration.sql");
      await fs.writeFile(file, (await fs.readFile(file, "utf8")).replace(/\n/g, "\r\n"));
      expect(await checkMigrationGate(connected.client, await readLocalMigrations(fresh.migrationsDir))).toEqual([]);
    } finally {
      await fresh.remove();
    }
  });

  test("fails with the failed migration and what it blocks after a real failed deploy", async () => {
    const scratch = await createEmptyDatabase("gate_a_failed");
    const broken = await createMigrationWorkdir({ copyMigrations: true });
    try {
      await broken.write("20991231000000_broken", "CREATE TABLE half_done (id int);\nSELECT 1/0;\n");
      await prismaCli(["migrate", "deploy"], scratch.url, broken.dir).catch(() => undefined);
      const scratchClient = new pg.Client({ connectionString: scratch.url });
      await scratchClient.connect();
      try {
        const reasons = await checkMigrationGate(scratchClient, await readLocalMigrations(broken.migrationsDir));
        expect(reasons).toEqual([
          "migration 20991231000000_broken failed (started, never finished); resolve it with prisma migrate resolve",
        ]);
      } finally {
        await scratchClient.end();
      }
    } finally {
      await broken.remove();
      await scratch.drop();
    }
  });
});
