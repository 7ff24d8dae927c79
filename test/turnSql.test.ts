// The turn rules that run in PostgreSQL (src/turns/sql/): each source file is
// what the newest migration defining it defines and what the migrated
// database runs; Gate A names a missing one. And what the per-user gate in
// the turn's insert guarantees, now that a send has no transaction around
// its read: the lock's waiter counts what its holder committed; concurrent
// sends on two instances never pass the rate limit together; a session
// deleted while a send waits for it gets NOT_FOUND and nothing is written,
// no credit held.
import { randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { graphqlClient } from "./support/graphqlClient.ts";
import { createCouncil, send } from "./fixtures/turns.ts";
import { signTestToken } from "./fixtures/users.ts";
import { TURN_SQL_FUNCTIONS, turnSqlSource } from "../src/gates/sqlFunctions.ts";
import { checkMigrationGate } from "../src/gates/migrationGate.ts";
import { userGate, type GateRow } from "../src/turns/acceptSql.ts";
import { queryOne } from "../src/db/sql.ts";

const PER_MINUTE = 4;

let database: TestDatabase;
let sql: pg.Pool;
let a: TestServer;
let b: TestServer;

beforeAll(async () => {
  database = await createMigratedDatabase("turnsql");
  sql = new pg.Pool({ connectionString: database.url, max: 4 });
  sql.on("error", () => undefined);
  const env = { RATE_LIMIT_TURNS_PER_MINUTE: String(PER_MINUTE), CREDIT_ENFORCEMENT: "enforce" };
  [a, b] = await Promise.all([startTestServer(database.url, env), startTestServer(database.url, env)]);
}, 120_000);

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await sql?.end();
  await database?.drop();
});

const MIGRATIONS = new URL("../prisma/migrations/", import.meta.url);

function bodiesOf(text: string): string[] {
  return [...text.matchAll(/ AS \$\$([\s\S]*?)\$\$;/g)].map((match) => match[1]!);
}

async function newUser() {
  const id = randomUUID();
  const token = await signTestToken({ sub: id });
  return { id, on: (server: TestServer) => graphqlClient(server.graphqlUrl, token) };
}

describe("one home", () => {
  test("the newest migration that defines each turn function defines exactly its source file, and the database runs exactly that", async () => {
    const names = (await readdir(MIGRATIONS, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
    const migrations = await Promise.all(names.map(async (name) => ({ name, text: await readFile(new URL(`${name}/migration.sql`, MIGRATIONS), "utf8") })));
    const expected: { proname: string; prosrc: string }[] = [];
    for (const name of TURN_SQL_FUNCTIONS) {
      const source = await turnSqlSource(name);
      const newest = migrations.filter((migration) => migration.text.includes(`FUNCTION "${name}"(`)).at(-1);
      expect(newest?.text.includes(source), `the newest migration defines ${name} exactly as src/turns/sql/${name}.sql`).toBe(true);
      for (const body of bodiesOf(source)) expected.push({ proname: name, prosrc: body });
    }
    const { rows } = await sql.query<{ proname: string; prosrc: string }>(
      "SELECT p.proname, p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' AND p.proname LIKE 'turn\\_%' ORDER BY 1",
    );
    expect(rows.sort((x, y) => x.proname.localeCompare(y.proname))).toEqual(expected.sort((x, y) => x.proname.localeCompare(y.proname)));
  });

  test("Gate A names a turn function that is missing", async () => {
    const client = await sql.connect();
    try {
      await client.query("BEGIN");
      await client.query('DROP FUNCTION "turn_accept_gate"(UUID, BIGINT, INTEGER, INTEGER)');
      expect(await checkMigrationGate(client)).toEqual(["turn function turn_accept_gate missing (src/turns/sql/turn_accept_gate.sql)"]);
    } finally {
      await client.query("ROLLBACK");
      client.release();
    }
    expect(await checkMigrationGate(sql)).toEqual([]);
  });
});

describe("the per-user gate", () => {
  test("a gate that waited for the lock counts what the holder committed meanwhile", async () => {
    const user = await newUser();
    const council = await createCouncil(user.on(a), "ROUNDTABLE", [["ada", "QWEN"]]);
    const limits = { turnsPerMinute: PER_MINUTE, turnsPerHour: 100 };
    const holder = await sql.connect();
    const waiter = await sql.connect();
    try {
      await holder.query("BEGIN");
      const gate = userGate(user.id, limits);
      expect(await queryOne<GateRow>(holder, gate)).toMatchObject({ allowed: true, minute_count: 0 });
      // The waiter's statement starts (its snapshot taken) while the holder's preview is not yet committed.
      const waiting = queryOne<GateRow>(waiter, gate);
      await eventually(async () => (await sql.query("SELECT 1 FROM pg_stat_activity WHERE wait_event = 'advisory' AND datname = current_database()")).rowCount === 1);
      await holder.query("INSERT INTO routing_previews (id, user_id, session_id) VALUES ($1, $2, $3)", [randomUUID(), user.id, council.sessionId]);
      await holder.query("COMMIT");
      expect(await waiting).toMatchObject({ allowed: true, minute_count: 1 });
    } finally {
      holder.release();
      waiter.release();
    }
  });

  test("concurrent sends from one user on two instances: exactly the rate limit's worth are accepted", async () => {
    const user = await newUser();
    const councils = await Promise.all(Array.from({ length: PER_MINUTE * 2 }, () => createCouncil(user.on(a), "ROUNDTABLE", [["ada", "QWEN"]])));
    const results = await Promise.all(councils.map((council, index) => send(user.on(index % 2 === 0 ? a : b), council.sessionId, "Go")));
    const kinds = results.map((result) => result.__typename);
    expect(kinds.filter((kind) => kind === "SendMessageSuccess")).toHaveLength(PER_MINUTE);
    expect(kinds.filter((kind) => kind === "RateLimitedError")).toHaveLength(PER_MINUTE);
    expect((await sql.query("SELECT count(*)::int AS n FROM turns WHERE user_id = $1", [user.id])).rows[0].n).toBe(PER_MINUTE);
  });

  test("a session deleted while a send waits for it: NOT_FOUND, no turn, no message, nothing held", async () => {
    const user = await newUser();
    const council = await createCouncil(user.on(a), "ROUNDTABLE", [["ada", "QWEN"]]);
    const deleter = await sql.connect();
    try {
      await deleter.query("BEGIN");
      await deleter.query("SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE", [council.sessionId]);
      const sending = send(user.on(a), council.sessionId, "Go");
      // The send has read the live session and now waits at the insert for the row.
      await eventually(async () => (await sql.query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'transactionid' AND datname = current_database()")).rowCount === 1);
      await deleter.query("UPDATE sessions SET deleted_at = now() WHERE id = $1", [council.sessionId]);
      await deleter.query("COMMIT");
      expect(await sending).toMatchObject({ __typename: "NotFoundError", code: "NOT_FOUND" });
    } finally {
      deleter.release();
    }
    const written = await sql.query<{ turns: number; messages: number; holds: number; held: string }>(
      `SELECT (SELECT count(*)::int FROM turns WHERE session_id = $1) AS turns, (SELECT count(*)::int FROM messages WHERE session_id = $1) AS messages,
              (SELECT count(*)::int FROM credit_holds WHERE user_id = $2) AS holds, (SELECT coalesce(sum(held), 0)::text FROM credit_wallets WHERE user_id = $2) AS held`,
      [council.sessionId, user.id],
    );
    expect(written.rows[0]).toEqual({ turns: 0, messages: 0, holds: 0, held: "0" });
  });
});

async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error("condition not reached in time");
}
