// The tables the shipped Prisma schema expects: a dropped table (e.g. by hand)
// makes Gate A fail even though every migration row is in place.
import fs from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { queryRows, sql, type Queryable } from "../db/sql.ts";

export const SCHEMA_FILE = fileURLToPath(new URL("../../prisma/schema.prisma", import.meta.url));

export function tablesOfSchema(schema: string): string[] {
  const tables: string[] = [];
  for (const [, name, body] of schema.matchAll(/^model (\w+) \{([\s\S]*?)^\}/gm)) {
    tables.push(/@@map\("([^"]+)"\)/.exec(body!)?.[1] ?? name!);
  }
  return tables;
}

// The shipped schema does not change while the process runs: read it once.
let shippedTables: Promise<string[]> | null = null;

export async function missingTables(db: Queryable): Promise<string[]> {
  shippedTables ??= fs
    .readFile(SCHEMA_FILE, "utf8")
    .then(tablesOfSchema)
    .catch((error: unknown) => {
      shippedTables = null;
      throw error;
    });
  const expected = await shippedTables;
  const rows = await queryRows<{ name: string }>(db, sql`SELECT name FROM unnest(${expected}::text[]) AS name WHERE to_regclass('public.' || quote_ident(name)) IS NULL`);
  return rows.map((row) => row.name);
}
