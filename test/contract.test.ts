// The schema contract frontends code against: the committed schema.graphql and
// the generated typed documents must match what the code builds.
import fs from "node:fs/promises";
import { generate } from "@graphql-codegen/cli";
import { buildSchema } from "graphql";
import { describe, expect, test } from "vitest";
import config from "../codegen.ts";
import { printedSchema, SCHEMA_FILE } from "../scripts/print-schema.ts";

describe("schema contract", () => {
  test("schema.graphql is what the code builds (run npm run generate and commit)", async () => {
    expect(await fs.readFile(SCHEMA_FILE, "utf8")).toBe(printedSchema());
  });

  test("the generated typed documents are current (run npm run generate and commit)", async () => {
    const outputs = await generate({ ...config, silent: true }, false);
    expect(outputs.length).toBeGreaterThan(0);
    for (const output of outputs) {
      expect(await fs.readFile(output.filename, "utf8"), output.filename).toBe(output.content);
    }
  });

  // Answered from process state alone: gate states, and the viewer from its token.
  // The viewer's DB-backed fields (usage, llmCallEvents) carry the directive themselves.
  const DATABASE_FREE_ROOT_FIELDS = ["systemStatus", "viewer"];

  test("every DB-backed root field carries @requiresReady", async () => {
    const sdl = buildSchema(await fs.readFile(SCHEMA_FILE, "utf8"));
    expect(sdl.getDirective("requiresReady")).toBeDefined();
    for (const root of [sdl.getQueryType(), sdl.getMutationType(), sdl.getSubscriptionType()]) {
      for (const field of Object.values(root?.getFields() ?? {})) {
        const marked = field.astNode?.directives?.some((directive) => directive.name.value === "requiresReady") ?? false;
        expect(marked, `${root!.name}.${field.name}`).toBe(!DATABASE_FREE_ROOT_FIELDS.includes(field.name));
      }
    }
  });
});
