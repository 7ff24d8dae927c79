// Gate A: every shipped migration is applied (finished, not rolled back, same
// checksum), none has failed, and llm_call_events matches its contract.
// Returns the reasons the gate is closed; an empty list means open.
import type { Queryable } from "../db/queryable.ts";
import { readLocalMigrations, type LocalMigration } from "./localMigrations.ts";
import { introspectTable } from "./introspectTable.ts";
import { compareTableContract } from "./compareContract.ts";
import { ledgerContract } from "./ledgerContract.ts";
import { missingTables } from "./expectedTables.ts";

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

const APPLIED_SQL = `SELECT migration_name, checksum, finished_at, rolled_back_at
  FROM _prisma_migrations ORDER BY started_at`;

export function migrationReasons(local: LocalMigration[], applied: AppliedRow[]): string[] {
  const reasons: string[] = [];
  for (const row of applied) {
    if (row.finished_at === null && row.rolled_back_at === null) {
      reasons.push(`migration ${row.migration_name} failed (started, never finished); resolve it with prisma migrate resolve`);
    }
  }
  for (const migration of local) {
    const rows = applied.filter((row) => row.migration_name === migration.name && row.rolled_back_at === null);
    const finished = rows.find((row) => row.finished_at !== null);
    if (!finished) {
      if (!rows.some((row) => row.finished_at === null)) reasons.push(`migration ${migration.name} not applied`);
      continue;
    }
    if (!migration.checksums.includes(finished.checksum)) {
      reasons.push(`checksum mismatch for migration ${migration.name}: the file differs from what was applied`);
    }
  }
  return reasons;
}

async function appliedMigrations(db: Queryable): Promise<AppliedRow[] | null> {
  const table = await db.query<{ oid: string | null }>("SELECT to_regclass('public._prisma_migrations')::text AS oid");
  if (!table.rows[0]?.oid) return null;
  return (await db.query<AppliedRow>(APPLIED_SQL)).rows;
}

// The shipped migrations do not change while the process runs: hash them once.
let shippedMigrations: Promise<LocalMigration[]> | null = null;

export async function checkMigrationGate(db: Queryable, local?: LocalMigration[]): Promise<string[]> {
  shippedMigrations ??= readLocalMigrations().catch((error: unknown) => {
    shippedMigrations = null;
    throw error;
  });
  const shipped = local ?? (await shippedMigrations);
  const applied = await appliedMigrations(db);
  if (applied === null) {
    return [`no migrations applied (table _prisma_migrations missing); run prisma migrate deploy (${shipped.length} pending)`];
  }
  // Every problem at once: a checksum mismatch must not hide a missing ledger index.
  const reasons = migrationReasons(shipped, applied);
  for (const table of await missingTables(db)) {
    if (table !== ledgerContract.table) reasons.push(`table ${table} missing although its migrations are recorded as applied`);
  }
  reasons.push(...compareTableContract(ledgerContract, await introspectTable(db, ledgerContract.table)));
  return reasons;
}
