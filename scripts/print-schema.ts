// Prints the schema the code builds to schema.graphql (with directives), or with
// --check fails when the committed file differs.
import fs from "node:fs/promises";
import { printSchemaWithDirectives } from "@graphql-tools/utils";
import { lexicographicSortSchema } from "graphql";
import { schema } from "../src/schema/index.ts";

export const SCHEMA_FILE = new URL("../schema.graphql", import.meta.url);

export function printedSchema(): string {
  // Directive usages come from the AST nodes Pothos sets; its array-shaped
  // `extensions.directives` would print as `@0(...)`.
  return `${printSchemaWithDirectives(lexicographicSortSchema(schema), { pathToDirectivesInExtensions: ["sdlOnly"] })}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const printed = printedSchema();
  if (process.argv.includes("--check")) {
    const committed = await fs.readFile(SCHEMA_FILE, "utf8").catch(() => "");
    if (committed !== printed) {
      console.error("schema.graphql is stale: run npm run generate and commit the result.");
      process.exit(1);
    }
  } else {
    await fs.writeFile(SCHEMA_FILE, printed);
  }
}
