// Gate A: every shipped migration is applied (finished, not rolled back, same
// checksum), none has failed, llm_call_events matches its contract, and the
// credit functions and their triggers exist.
// Returns the reasons the gate is closed; an empty list means open.
import { queryOne, queryRows, sql, type Queryable } from "../db/sql.ts";
import { readLocalMigrations, type LocalMigration } from "./localMigrations.ts";
import { introspectTable } from "./introspectTable.ts";
import { compareTableContract } from "./compareContract.ts";
import { ledgerContract } from "./ledgerContract.ts";
import { missingTables } from "./expectedTables.ts";
import { sqlFunctionReasons } from "./sqlFunctions.ts";

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

const MIGRATIONS_TABLE = sql`SELECT to_regclass('public._prisma_migrations')::text AS oid`;

const APPLIED_SQL = sql`SELECT migration_name, checksum, finished_at, rolled_back_at
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
  const table = await queryOne<{ oid: string | null }>(db, MIGRATIONS_TABLE);
  if (!table?.oid) return null;
  return queryRows<AppliedRow>(db, APPLIED_SQL);
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
  reasons.push(...(await sqlFunctionReasons(db)));
  return reasons;
}
