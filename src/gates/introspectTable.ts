// Reads a table's shape from pg_catalog: columns, primary key, foreign keys
// (with delete rules) and indexes (with partial predicates).
import type { Queryable } from "../db/queryable.ts";
import type { DeleteRule } from "./ledgerContract.ts";

export interface LiveColumn {
  name: string;
  type: string;
  nullable: boolean;
  default: string | null;
}

export interface LiveForeignKey {
  name: string;
  columns: string[];
  targetTable: string;
  targetColumns: string[];
  onDelete: DeleteRule | "SET DEFAULT";
}

export interface LiveIndex {
  name: string;
  columns: string[];
  unique: boolean;
  primary: boolean;
  predicate: string | null;
  valid: boolean;
}

export interface LiveTable {
  exists: boolean;
  columns: LiveColumn[];
  foreignKeys: LiveForeignKey[];
  indexes: LiveIndex[];
}

const DELETE_RULES: Record<string, LiveForeignKey["onDelete"]> = {
  a: "NO ACTION",
  r: "RESTRICT",
  c: "CASCADE",
  n: "SET NULL",
  d: "SET DEFAULT",
};

const COLUMNS_SQL = `
  SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable,
         pg_get_expr(d.adbin, d.adrelid) AS default
  FROM pg_attribute a
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
  ORDER BY a.attnum`;

const FOREIGN_KEYS_SQL = `
  SELECT c.conname AS name, c.confdeltype AS rule, t.relname AS target,
         ARRAY(SELECT attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
               JOIN pg_attribute ON attrelid = c.conrelid AND attnum = k.n ORDER BY k.i)::text[] AS columns,
         ARRAY(SELECT attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
               JOIN pg_attribute ON attrelid = c.confrelid AND attnum = k.n ORDER BY k.i)::text[] AS target_columns
  FROM pg_constraint c JOIN pg_class t ON t.oid = c.confrelid
  WHERE c.conrelid = $1::regclass AND c.contype = 'f'`;

const INDEXES_SQL = `
  SELECT ic.relname AS name, i.indisunique AS unique, i.indisprimary AS primary, i.indisvalid AS valid,
         pg_get_expr(i.indpred, i.indrelid) AS predicate,
         ARRAY(SELECT attname FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o)
               JOIN pg_attribute ON attrelid = i.indrelid AND attnum = k.n ORDER BY k.o)::text[] AS columns
  FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
  WHERE i.indrelid = $1::regclass`;

export async function introspectTable(db: Queryable, table: string): Promise<LiveTable> {
  const found = await db.query<{ oid: string | null }>("SELECT to_regclass($1)::text AS oid", [`public.${table}`]);
  if (!found.rows[0]?.oid) return { exists: false, columns: [], foreignKeys: [], indexes: [] };
  const qualified = `public.${table}`;
  // Sequential: a single pg Client (the ops CLI) must not run queries concurrently.
  const columns = await db.query<LiveColumn>(COLUMNS_SQL, [qualified]);
  const foreignKeys = await db.query<{ name: string; rule: string; target: string; columns: string[]; target_columns: string[] }>(
    FOREIGN_KEYS_SQL,
    [qualified],
  );
  const indexes = await db.query<LiveIndex>(INDEXES_SQL, [qualified]);
  return {
    exists: true,
    columns: columns.rows,
    foreignKeys: foreignKeys.rows.map((row) => ({
      name: row.name,
      columns: row.columns,
      targetTable: row.target,
      targetColumns: row.target_columns,
      onDelete: DELETE_RULES[row.rule] ?? "NO ACTION",
    })),
    indexes: indexes.rows,
  };
}
