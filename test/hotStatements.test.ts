// Hot statements are prepared under a name per shape (src/db/statements.ts):
// on a real connection, each distinct text (texts of the same length
// included) is prepared once under its own name and answers its own rows;
// the same text sent again reuses its name; past the bound, shapes go
// unnamed and still answer.
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { ADMIN_URL } from "./support/database.ts";
import { HotStatements } from "../src/db/statements.ts";
import { queryOne } from "../src/db/sql.ts";

let client: pg.Client;

beforeAll(async () => {
  client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
});

const preparedCount = async () => Number((await client.query<{ count: string }>("SELECT count(*) FROM pg_prepared_statements")).rows[0]!.count);

test("texts of the same length are prepared under names of their own, each once, and answer their own rows", async () => {
  const statements = new HotStatements(true);
  const texts = ["SELECT $1::int + 1 AS value", "SELECT $1::int + 2 AS value", "SELECT $1::int * 3 AS value"];
  expect(new Set(texts.map((text) => text.length)).size).toBe(1);
  const names = texts.map((text) => statements.config(text, [1]).name);
  expect(new Set(names).size).toBe(3);
  for (let round = 0; round < 3; round++) {
    const values = [];
    for (const text of texts) values.push((await queryOne<{ value: number }>(client, { text, values: [10] }, statements))!.value);
    expect(values).toEqual([11, 12, 30]);
  }
  expect(await preparedCount()).toBe(3);
  // A text built anew (not the same string object) finds its name.
  const rebuilt = ["SELECT $1::int", " + 1 AS value"].join("");
  expect(statements.config(rebuilt, [1]).name).toBe(names[0]);
});

test("past the bound on shapes, a new shape goes unnamed and still answers", async () => {
  const statements = new HotStatements(true);
  const named = Array.from({ length: 256 }, (_, index) => statements.config(`SELECT ${index} AS value`, []).name);
  expect(named.every((name) => name !== undefined)).toBe(true);
  expect(statements.config("SELECT 256 AS value", []).name).toBeUndefined();
  expect(statements.config("SELECT 0 AS value", []).name).toBe(named[0]);
  expect((await queryOne<{ value: number }>(client, { text: "SELECT 256 AS value", values: [] }, statements))!.value).toBe(256);
});
