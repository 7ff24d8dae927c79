// The credit rules that run in the database (src/credits/sql/): Gate A fails
// when a function or a trigger that runs one is missing (dropped by hand, or
// a migration half applied), since money would then move without its rules.
import { queryRows, sql, type Queryable } from "../db/sql.ts";
import { CREDIT_SQL_FUNCTIONS } from "../credits/sqlFunctions.ts";

const FUNCTIONS = CREDIT_SQL_FUNCTIONS.map((entry) => entry.name);
const TRIGGERS = CREDIT_SQL_FUNCTIONS.flatMap((entry) => entry.triggers.map((trigger) => ({ ...trigger, runs: entry.name })));

export async function creditFunctionReasons(db: Queryable): Promise<string[]> {
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
    ...FUNCTIONS.filter((name) => !functions.has(name)).map((name) => `credit function ${name} missing (src/credits/sql/${name}.sql)`),
    ...TRIGGERS.filter((trigger) => !triggers.has(`${trigger.name}@${trigger.table}:${trigger.runs}`)).map(
      (trigger) => `trigger ${trigger.name} on ${trigger.table} (running ${trigger.runs}) missing`,
    ),
  ];
}
