// The embedded PGlite is one session shared by every connection the pool
// ever opens: a new connection (after an idle recycle or an error) meets the
// statements an earlier one prepared. The pool built for it must keep
// working across such a reconnect.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startEmbeddedDatabase, type EmbeddedDatabase } from "../src/embedded/pglite.ts";
import { createDb, type DbHandle } from "../src/db.ts";

let dataDir: string;
let embedded: EmbeddedDatabase;
let db: DbHandle;

beforeAll(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "pantheon-pglite-"));
  embedded = await startEmbeddedDatabase(dataDir);
  db = createDb({ poolUrl: embedded.url, poolMax: 1, poolMode: "direct", singleSession: true });
});

afterAll(async () => {
  await db?.close();
  await embedded?.stop();
  await fs.rm(dataDir, { recursive: true, force: true });
});

test("the hot statements still run after the pool's connection was replaced", async () => {
  const hot = db.statements.config("SELECT 41 + 1 AS answer", []);
  expect((await db.pool.query<{ answer: number }>(hot)).rows[0]!.answer).toBe(42);

  // Drop the pooled connection as an error (or an idle recycle) would: the next query opens a new one.
  const client = await db.pool.connect();
  client.release(true);
  expect(db.pool.totalCount).toBe(0);

  expect((await db.pool.query<{ answer: number }>(hot)).rows[0]!.answer).toBe(42);
});

test("the pool does not recycle its one connection when idle", () => {
  expect(db.pool.options.idleTimeoutMillis).toBe(0);
});
