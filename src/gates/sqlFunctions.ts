// The rules that run in the database (src/credits/sql/, src/turns/sql/):
// Gate A fails when a function or a trigger that runs one is missing
// (dropped by hand, or a migration half applied), since money would then
// move, or turns start, without their rules.
import { queryRows, sql, type Queryable } from "../db/sql.ts";
import { CREDIT_SQL_FUNCTIONS } from "../credits/sqlFunctions.ts";
import { readFile } from "node:fs/promises";

/**
 * The turn rules that run inside PostgreSQL: each function's whole definition
 * is a readable file in src/turns/sql/, in dependency order here. As with the
 * credit rules, a migration that changes one copies its file, and
 * test/turnSql.test.ts checks the newest migration and the migrated database
 * against the files. Listed here, not in turns/, which sits above the gates.
 *
 * Which TypeScript function reaches each rule:
 *   turn_accept_gate    userGate (turns/acceptSql.ts): every turn's insert, a preview's reservation (turns/previewReservation.ts)
 *   turn_refuse_unheld  insertTurnStatement (turns/acceptSql.ts): a send whose first call cannot be held fails its insert
 */
export const TURN_SQL_FUNCTIONS: readonly string[] = ["turn_accept_gate", "turn_refuse_unheld"];

/** The file that defines a turn function, as a migration includes it. */
export function turnSqlSource(name: string): Promise<string> {
  return readFile(new URL(`../turns/sql/${name}.sql`, import.meta.url), "utf8");
}

const CREDIT_FUNCTIONS = CREDIT_SQL_FUNCTIONS.map((entry) => entry.name);
const FUNCTIONS = [...CREDIT_FUNCTIONS, ...TURN_SQL_FUNCTIONS];
const TRIGGERS = CREDIT_SQL_FUNCTIONS.flatMap((entry) => entry.triggers.map((trigger) => ({ ...trigger, runs: entry.name })));

export async function sqlFunctionReasons(db: Queryable): Promise<string[]> {
  const present = await queryRows<{ kind: "function" | "trigger"; name: string; detail: string | null }>(
    db,
    sql`SELECT 'function' AS kind, p.proname AS name, NULL AS detail
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'public' AND p.proname = ANY(${FUNCTIONS}::text[])
        UNION ALL
        SELECT 'trigger', t.tgname, c.relname || ':' || f.proname
          FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc f ON f.oid = t.tgfoid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND NOT t.tgisinternal AND t.tgname = ANY(${TRIGGERS.map((trigger) => trigger.name)}::text[])`,
  );
  const functions = new Set(present.filter((row) => row.kind === "function").map((row) => row.name));
  const triggers = new Set(present.filter((row) => row.kind === "trigger").map((row) => `${row.name}@${row.detail}`));
  return [
    ...CREDIT_FUNCTIONS.filter((name) => !functions.has(name)).map((name) => `credit function ${name} missing (src/credits/sql/${name}.sql)`),
    ...TURN_SQL_FUNCTIONS.filter((name) => !functions.has(name)).map((name) => `turn function ${name} missing (src/turns/sql/${name}.sql)`),
    ...TRIGGERS.filter((trigger) => !triggers.has(`${trigger.name}@${trigger.table}:${trigger.runs}`)).map(
      (trigger) => `trigger ${trigger.name} on ${trigger.table} (running ${trigger.runs}) missing`,
    ),
  ];
}
