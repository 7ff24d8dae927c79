// The tables the shipped Prisma schema expects: a dropped table (e.g. by hand)
// makes Gate A fail even though every migration row is in place.
import fs from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Queryable } from "./queryable.ts";

export const SCHEMA_FILE = fileURLToPath(new URL("../../prisma/schema.prisma", import.meta.url));

export function tablesOfSchema(schema: string): string[] {
  const tables: string[] = [];
  for (const [, name, body] of schema.matchAll(/^model (\w+) \{([\s\S]*?)^\}/gm)) {
    tables.push(/@@map\("([^"]+)"\)/.exec(body!)?.[1] ?? name!);
  }
  return tables;
}

export async function missingTables(db: Queryable, schemaFile = SCHEMA_FILE): Promise<string[]> {
  const expected = tablesOfSchema(await fs.readFile(schemaFile, "utf8"));
  const { rows } = await db.query<{ name: string }>(
    "SELECT name FROM unnest($1::text[]) AS name WHERE to_regclass('public.' || quote_ident(name)) IS NULL",
    [expected],
  );
  return rows.map((row) => row.name);
}
