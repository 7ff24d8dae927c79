// Reads a table's shape from pg_catalog: columns, primary key, foreign keys
// (with delete rules) and indexes (with partial predicates).
import { queryOne, queryRows, sql, type Queryable } from "../db/sql.ts";
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

const columnsSql = (table: string) => sql`
  SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable,
         pg_get_expr(d.adbin, d.adrelid) AS default
  FROM pg_attribute a
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  WHERE a.attrelid = ${table}::regclass AND a.attnum > 0 AND NOT a.attisdropped
  ORDER BY a.attnum`;

interface ForeignKeyRow {
  name: string;
  rule: string;
  target: string;
  columns: string[];
  target_columns: string[];
}

const foreignKeysSql = (table: string) => sql`
  SELECT c.conname AS name, c.confdeltype AS rule, t.relname AS target,
         ARRAY(SELECT attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
               JOIN pg_attribute ON attrelid = c.conrelid AND attnum = k.n ORDER BY k.i)::text[] AS columns,
         ARRAY(SELECT attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
               JOIN pg_attribute ON attrelid = c.confrelid AND attnum = k.n ORDER BY k.i)::text[] AS target_columns
  FROM pg_constraint c JOIN pg_class t ON t.oid = c.confrelid
  WHERE c.conrelid = ${table}::regclass AND c.contype = 'f'`;

const indexesSql = (table: string) => sql`
  SELECT ic.relname AS name, i.indisunique AS unique, i.indisprimary AS primary, i.indisvalid AS valid,
         pg_get_expr(i.indpred, i.indrelid) AS predicate,
         ARRAY(SELECT attname FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o)
               JOIN pg_attribute ON attrelid = i.indrelid AND attnum = k.n ORDER BY k.o)::text[] AS columns
  FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
  WHERE i.indrelid = ${table}::regclass`;

export async function introspectTable(db: Queryable, table: string): Promise<LiveTable> {
  const qualified = `public.${table}`;
  const found = await queryOne<{ oid: string | null }>(db, sql`SELECT to_regclass(${qualified})::text AS oid`);
  if (!found?.oid) return { exists: false, columns: [], foreignKeys: [], indexes: [] };
  // Sequential: the caller may hand a single pg Client, which must not run queries concurrently.
  const columns = await queryRows<LiveColumn>(db, columnsSql(qualified));
  const foreignKeys = await queryRows<ForeignKeyRow>(db, foreignKeysSql(qualified));
  const indexes = await queryRows<LiveIndex>(db, indexesSql(qualified));
  return {
    exists: true,
    columns,
    foreignKeys: foreignKeys.map((row) => ({
      name: row.name,
      columns: row.columns,
      targetTable: row.target,
      targetColumns: row.target_columns,
      onDelete: DELETE_RULES[row.rule] ?? "NO ACTION",
    })),
    indexes,
  };
}
