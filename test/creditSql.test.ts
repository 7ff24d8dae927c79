// The credit rules that run in PostgreSQL (SPEC 14): each function's source
// file is what the newest migration defining it defines and what the
// migrated database runs; Gate A names a missing one; and each function,
// tested on its own with hand-computed amounts.
import { randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { CREDIT_SQL_FUNCTIONS, creditSqlSource } from "../src/credits/sqlFunctions.ts";
import { checkMigrationGate } from "../src/gates/migrationGate.ts";
import { ledgerInsertSql } from "../src/metering/ledger.ts";
import { qwenLedgerRow } from "./fixtures/credits.ts";

let database: TestDatabase;
let sql: pg.Pool;

beforeAll(async () => {
  database = await createMigratedDatabase("creditsql");
  sql = new pg.Pool({ connectionString: database.url, max: 4 });
  sql.on("error", () => undefined);
}, 120_000);

afterAll(async () => {
  await sql?.end();
  await database?.drop();
});

const MIGRATIONS = new URL("../prisma/migrations/", import.meta.url);

/** The $$ … $$ bodies of a file's function definitions, in order. */
function bodiesOf(text: string): string[] {
  return [...text.matchAll(/ AS \$\$([\s\S]*?)\$\$;/g)].map((match) => match[1]!);
}

describe("one home", () => {
  test("the newest migration that defines each credit function defines exactly its source file", async () => {
    const names = (await readdir(MIGRATIONS, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
    const migrations = await Promise.all(names.map(async (name) => ({ name, text: await readFile(new URL(`${name}/migration.sql`, MIGRATIONS), "utf8") })));
    for (const { name } of CREDIT_SQL_FUNCTIONS) {
      // A definition, not a mention: a migration that re-creates a trigger says EXECUTE FUNCTION "name"().
      const defines = new RegExp(`CREATE (OR REPLACE )?FUNCTION "${name}"\\(`);
      const newest = migrations.filter((migration) => defines.test(migration.text)).at(-1);
      expect(newest, name).toBeDefined();
      expect(newest!.text.includes(await creditSqlSource(name)), `${newest!.name} defines ${name} exactly as src/credits/sql/${name}.sql`).toBe(true);
    }
  });

  test("the migrated database runs exactly the bodies of the source files, and no other credit function", async () => {
    const { rows } = await sql.query<{ proname: string; prosrc: string }>(
      "SELECT p.proname, p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' AND p.proname LIKE 'credit\\_%' ORDER BY 1, 2",
    );
    const expected: { proname: string; prosrc: string }[] = [];
    for (const { name } of CREDIT_SQL_FUNCTIONS) for (const body of bodiesOf(await creditSqlSource(name))) expected.push({ proname: name, prosrc: body });
    const sort = (list: { proname: string; prosrc: string }[]) => [...list].sort((x, y) => (x.proname + x.prosrc).localeCompare(y.proname + y.prosrc));
    expect(sort(rows)).toEqual(sort(expected));
  });

  test("Gate A names a credit function or trigger that is missing", async () => {
    expect(await checkMigrationGate(sql)).toEqual([]);
    const client = await sql.connect();
    try {
      await client.query("BEGIN");
      await client.query('DROP TRIGGER "credit_debit_ledger_row" ON "llm_call_events"');
      await client.query('DROP FUNCTION "credit_set_plan"(UUID, VARCHAR, UUID, VARCHAR, VARCHAR)');
      const reasons = await checkMigrationGate(client);
      expect(reasons).toEqual([
        "credit function credit_set_plan missing (src/credits/sql/credit_set_plan.sql)",
        "trigger credit_debit_ledger_row on llm_call_events (running credit_debit_ledger_row) missing",
      ]);
    } finally {
      await client.query("ROLLBACK");
      client.release();
    }
    expect(await checkMigrationGate(sql)).toEqual([]);
  });
});

/** A user with an open Starter wallet (495), a room and a running turn in it. */
async function fixture(options: { budget?: string } = {}) {
  const userId = randomUUID();
  const roomId = randomUUID();
  const sessionId = randomUUID();
  const turnId = randomUUID();
  await sql.query("INSERT INTO users (id) VALUES ($1)", [userId]);
  await sql.query("INSERT INTO rooms (id, owner_id, name, monthly_credit_budget, updated_at) VALUES ($1, $2, 'r', $3, now())", [roomId, userId, options.budget ?? null]);
  await sql.query("INSERT INTO sessions (id, owner_id, room_id, updated_at) VALUES ($1, $2, $3, now())", [sessionId, userId, roomId]);
  await sql.query("INSERT INTO turns (id, session_id, user_id, seq, mode, roster_snapshot, user_content, updated_at) VALUES ($1, $2, $3, 1, 'roundtable', '[]', 'Go', now())", [turnId, sessionId, userId]);
  await sql.query("SELECT credit_wallet_current($1, 'starter')", [userId]);
  return { userId, roomId, sessionId, turnId };
}

async function wallet(userId: string) {
  const { rows } = await sql.query("SELECT allowance::text, granted::text, held::text, credit_available(w)::text AS available FROM credit_wallets w WHERE user_id = $1", [userId]);
  return rows[0];
}

async function hold(place: { userId: string; turnId: string; roomId: string | null }, amount: string, least: string, enforce = true, ofTurn = true) {
  const { rows } = await sql.query(
    "SELECT placed, held::text, refused_by, available_before::text AS available, room_available_before::text AS room_available FROM credit_hold_call($1, $2, $3, $4, 'starter', $5, $6, $7)",
    [place.userId, place.turnId, amount, least, enforce, place.roomId, ofTurn],
  );
  return rows[0];
}

/** A ledger row of the turn costing 900 fresh + 300 output qwen tokens: (900 × 0.35 + 300) / 10,000 × 0.5 = 0.03075 → 0.0308 credits. */
async function insertRow(place: { userId: string; roomId: string; sessionId: string; turnId: string }, holdCredits: string | null) {
  const row = { ...qwenLedgerRow(place.userId, place), turn_id: place.turnId, hold_credits: holdCredits };
  const statement = ledgerInsertSql([row]);
  await sql.query(statement.text, statement.values);
  return row.id;
}

describe("each credit function", () => {
  test("credit_available: allowance + granted − held", async () => {
    const { rows } = await sql.query("SELECT credit_available(10.5, 5, 3.25)::numeric(20,4)::text AS from_amounts");
    expect(rows[0].from_amounts).toBe("12.2500");
    const { userId } = await fixture();
    await sql.query("UPDATE credit_wallets SET granted = 5, held = 100 WHERE user_id = $1", [userId]);
    expect(await wallet(userId)).toEqual({ allowance: "495.0000", granted: "5.0000", held: "100.0000", available: "400.0000" });
  });

  test("credit_room_available: the budget less this month's spending and what the room's calls hold; null without a budget", async () => {
    const { roomId } = await fixture({ budget: "100" });
    await sql.query("INSERT INTO room_credit_usage (room_id, period_start, spent, held) VALUES ($1, date_trunc('month', now() AT TIME ZONE 'UTC')::date, 30, 20), ($1, '2020-01-01', 999, 5)", [roomId]);
    expect((await sql.query("SELECT credit_room_available($1)::text AS available", [roomId])).rows[0].available).toBe("45.0000");
    const other = await fixture();
    expect((await sql.query("SELECT credit_room_available($1) AS available", [other.roomId])).rows[0].available).toBeNull();
  });

  test("credit_wallet_current: opens on the plan with its allowance once per month; last month's unspent allowance lapses", async () => {
    const userId = randomUUID();
    await sql.query("INSERT INTO users (id) VALUES ($1)", [userId]);
    await sql.query("SELECT credit_wallet_current($1, 'pro')", [userId]);
    await sql.query("SELECT credit_wallet_current($1, 'pro')", [userId]);
    expect(await wallet(userId)).toEqual({ allowance: "1980.0000", granted: "0.0000", held: "0.0000", available: "1980.0000" });
    const lastMonth = randomUUID();
    await sql.query("INSERT INTO users (id) VALUES ($1)", [lastMonth]);
    await sql.query(
      "INSERT INTO credit_wallets (user_id, plan, period_start, allowance, granted) VALUES ($1, 'starter', (date_trunc('month', now() AT TIME ZONE 'UTC') - interval '1 month')::date, 7, 3)",
      [lastMonth],
    );
    await sql.query("SELECT credit_wallet_current($1, NULL)", [lastMonth]);
    await sql.query("SELECT credit_wallet_current($1, NULL)", [lastMonth]);
    const { rows } = await sql.query("SELECT kind::text, amount::text, expired_allowance::text, balance_after::text FROM credit_transactions WHERE user_id = $1", [lastMonth]);
    expect(rows).toEqual([{ kind: "plan_allowance", amount: "495.0000", expired_allowance: "7.0000", balance_after: "498.0000" }]);
    expect(await wallet(lastMonth)).toEqual({ allowance: "495.0000", granted: "3.0000", held: "0.0000", available: "498.0000" });
  });

  test("credit_hold_call: enforce holds up to the amount, down to the least, or refuses; warn holds the amount; an ended turn gets nothing", async () => {
    const place = await fixture();
    expect(await hold(place, "10", "5")).toMatchObject({ placed: true, held: "10.0000", available: "495.0000" });
    expect(await hold(place, "1000", "600")).toMatchObject({ placed: false, held: "0.0000", refused_by: "wallet", available: "485.0000" });
    expect(await hold(place, "1000", "100")).toMatchObject({ placed: true, held: "485.0000", available: "485.0000" });
    expect(await wallet(place.userId)).toMatchObject({ held: "495.0000", available: "0.0000" });
    expect(await hold(place, "3", "0")).toMatchObject({ placed: true, held: "0.0000" });
    expect(await hold(place, "3", "3", false)).toMatchObject({ placed: true, held: "3.0000" });
    expect(await wallet(place.userId)).toMatchObject({ held: "498.0000", available: "-3.0000" });
    const { rows } = await sql.query("SELECT amount::text, remaining::text FROM credit_holds WHERE turn_id = $1", [place.turnId]);
    expect(rows).toEqual([{ amount: "498.0000", remaining: "498.0000" }]);
    const { rows: entries } = await sql.query("SELECT amount::text, balance_after::text FROM credit_transactions WHERE turn_id = $1 AND kind = 'hold' ORDER BY created_at", [place.turnId]);
    expect(entries).toEqual([
      { amount: "10.0000", balance_after: "485.0000" },
      { amount: "485.0000", balance_after: "0.0000" },
      { amount: "3.0000", balance_after: "-3.0000" },
    ]);
    await sql.query("UPDATE turns SET status = 'completed' WHERE id = $1", [place.turnId]);
    expect(await hold(place, "1", "0")).toMatchObject({ placed: false, refused_by: "ended" });
  });

  test("credit_hold_call in a room with a budget: held within what the room has left, the refusal names the room", async () => {
    const place = await fixture({ budget: "20" });
    expect(await hold(place, "30", "5")).toMatchObject({ placed: true, held: "20.0000", room_available: "20.0000" });
    expect(await hold(place, "30", "5")).toMatchObject({ placed: false, refused_by: "room", available: "475.0000", room_available: "0.0000" });
    const { rows } = await sql.query("SELECT held::text FROM room_credit_usage WHERE room_id = $1", [place.roomId]);
    expect(rows).toEqual([{ held: "20.0000" }]);
  });

  test("credit_hold_turn_in_room (the previous release's whole-turn hold): all or nothing", async () => {
    const place = await fixture();
    const call = (amount: string) =>
      sql.query("SELECT placed, refused_by FROM credit_hold_turn_in_room($1, $2, $3, 'starter', true, NULL)", [place.userId, place.turnId, amount]).then((result) => result.rows[0]);
    expect(await call("500")).toEqual({ placed: false, refused_by: "wallet" });
    expect(await call("400")).toEqual({ placed: true, refused_by: null });
    expect(await wallet(place.userId)).toMatchObject({ held: "400.0000", available: "95.0000" });
  });

  test("credit_debit_ledger_row: a row settles its cost from its call's hold and releases the rest; a row of the whole-turn holds settles what it costs", async () => {
    const place = await fixture({ budget: "100" });
    await hold(place, "10", "10");
    const id = await insertRow(place, "10");
    const { rows } = await sql.query("SELECT amount::text, from_hold::text, released::text, balance_after::text FROM credit_transactions WHERE ledger_event_id = $1", [id]);
    expect(rows).toEqual([{ amount: "0.0308", from_hold: "0.0308", released: "9.9692", balance_after: "494.9692" }]);
    expect(await wallet(place.userId)).toEqual({ allowance: "494.9692", granted: "0.0000", held: "0.0000", available: "494.9692" });
    const { rows: room } = await sql.query("SELECT spent::text, held::text FROM room_credit_usage WHERE room_id = $1", [place.roomId]);
    expect(room).toEqual([{ spent: "0.0308", held: "0.0000" }]);
    await hold(place, "0.01", "0.01");
    const legacy = await insertRow(place, null);
    const { rows: settled } = await sql.query("SELECT from_hold::text, released::text FROM credit_transactions WHERE ledger_event_id = $1", [legacy]);
    expect(settled).toEqual([{ from_hold: "0.0100", released: "0.0000" }]);
    expect(await wallet(place.userId)).toMatchObject({ held: "0.0000", available: "494.9384" });
  });

  test("credit_release_turn_hold: the turn's end releases what it still holds, once", async () => {
    const place = await fixture();
    await hold(place, "12.5", "12.5");
    await sql.query("UPDATE turns SET status = 'partial' WHERE id = $1", [place.turnId]);
    await sql.query("UPDATE turns SET error = 'x' WHERE id = $1", [place.turnId]);
    const { rows } = await sql.query("SELECT kind::text, amount::text, balance_after::text FROM credit_transactions WHERE turn_id = $1 ORDER BY created_at", [place.turnId]);
    expect(rows).toEqual([
      { kind: "hold", amount: "12.5000", balance_after: "482.5000" },
      { kind: "release", amount: "12.5000", balance_after: "495.0000" },
    ]);
    expect(await wallet(place.userId)).toMatchObject({ held: "0.0000", available: "495.0000" });
  });

  test("credit_release_hold and credit_release_stale_holds: a preview's hold (keyed by its id, no turn) is released once; only stale holds of no running turn are swept", async () => {
    const place = await fixture();
    const previewId = randomUUID();
    await hold({ ...place, turnId: previewId }, "2", "2", true, false);
    await hold(place, "3", "3");
    expect(await wallet(place.userId)).toMatchObject({ held: "5.0000", available: "490.0000" });
    // A hold's transactions name a turn only when the key is one.
    const { rows: entries } = await sql.query("SELECT amount::text, turn_id FROM credit_transactions WHERE user_id = $1 AND kind = 'hold' ORDER BY created_at", [place.userId]);
    expect(entries).toEqual([
      { amount: "2.0000", turn_id: null },
      { amount: "3.0000", turn_id: place.turnId },
    ]);
    await sql.query("UPDATE credit_holds SET created_at = now() - interval '1 hour'");
    expect((await sql.query("SELECT credit_release_stale_holds('10 minutes') AS released")).rows[0].released).toBeGreaterThanOrEqual(1);
    expect(await wallet(place.userId)).toMatchObject({ held: "3.0000", available: "492.0000" });
    await sql.query("SELECT credit_release_hold($1, $2, false)", [previewId, place.userId]);
    expect(await wallet(place.userId)).toMatchObject({ held: "3.0000" });
    const { rows } = await sql.query("SELECT released_at IS NOT NULL AS released FROM credit_holds WHERE turn_id = $1", [place.turnId]);
    expect(rows).toEqual([{ released: false }]);
  });

  test("credit_grant: once per key; an adjustment below zero only with the owner's consent", async () => {
    const { userId } = await fixture();
    const grant = (kind: string, amount: string, key: string, allowNegative: boolean) =>
      sql.query("SELECT kind::text, amount::text, balance_after::text FROM credit_grant($1, $2, $3, NULL, 'ops:test', $4, NULL, 'starter', $5)", [userId, kind, amount, key, allowNegative]);
    expect((await grant("grant", "25", "k1", false)).rows[0]).toEqual({ kind: "grant", amount: "25.0000", balance_after: "520.0000" });
    expect((await grant("grant", "25", "k1", false)).rows[0]).toEqual({ kind: "grant", amount: "25.0000", balance_after: "520.0000" });
    await expect(grant("adjustment", "-520.0001", "k2", false)).rejects.toMatchObject({ code: "23514", constraint: "credit_available_not_negative" });
    expect((await grant("adjustment", "-520", "k3", false)).rows[0]).toEqual({ kind: "adjustment", amount: "-520.0000", balance_after: "0.0000" });
    expect((await grant("adjustment", "-10", "k4", true)).rows[0]).toEqual({ kind: "adjustment", amount: "-10.0000", balance_after: "-10.0000" });
    expect(await wallet(userId)).toEqual({ allowance: "495.0000", granted: "-505.0000", held: "0.0000", available: "-10.0000" });
    const { rows } = await sql.query("SELECT count(*)::int AS audits FROM admin_audit_log WHERE target = $1", [`user:${userId}`]);
    expect(rows[0].audits).toBe(3);
  });

  test("credit_set_plan: an upgrade tops up this month's allowance by the difference once; a downgrade keeps it", async () => {
    const { userId } = await fixture();
    const setPlan = (plan: string) => sql.query("SELECT plan, allowance::text FROM credit_set_plan($1, $2, NULL, 'ops:test', 'starter')", [userId, plan]).then((result) => result.rows[0]);
    expect(await setPlan("pro")).toEqual({ plan: "pro", allowance: "1980.0000" });
    expect(await setPlan("starter")).toEqual({ plan: "starter", allowance: "1980.0000" });
    expect(await setPlan("pro")).toEqual({ plan: "pro", allowance: "1980.0000" });
    expect(await setPlan("power")).toEqual({ plan: "power", allowance: "4180.0000" });
  });

  test("credit_wallet_low_balance: one event when allowance + granted crosses below the plan's line, re-armed above it", async () => {
    const { userId } = await fixture();
    const events = async () => (await sql.query("SELECT balance::text, threshold::text FROM wallet_events WHERE user_id = $1 ORDER BY id", [userId])).rows;
    await sql.query("UPDATE credit_wallets SET allowance = 40 WHERE user_id = $1", [userId]);
    await sql.query("UPDATE credit_wallets SET allowance = 30 WHERE user_id = $1", [userId]);
    expect(await events()).toEqual([{ balance: "40.0000", threshold: "49.5000" }]);
    await sql.query("UPDATE credit_wallets SET granted = 100 WHERE user_id = $1", [userId]);
    await sql.query("UPDATE credit_wallets SET granted = 0 WHERE user_id = $1", [userId]);
    expect(await events()).toEqual([
      { balance: "40.0000", threshold: "49.5000" },
      { balance: "30.0000", threshold: "49.5000" },
    ]);
  });

  test("credit_transactions_append_only: entries are never edited or removed", async () => {
    const { userId } = await fixture();
    await expect(sql.query("UPDATE credit_transactions SET amount = 1 WHERE user_id = $1", [userId])).rejects.toMatchObject({ code: "23000" });
    await expect(sql.query("DELETE FROM credit_transactions WHERE user_id = $1", [userId])).rejects.toMatchObject({ code: "23000" });
  });
});

describe("the amounts' own checks", () => {
  test("no statement can write a negative held, allowance, remaining or released amount, nor a hold with more left than it held; nothing changes", async () => {
    const place = await fixture();
    expect(await hold(place, "2.0000", "2.0000")).toMatchObject({ placed: true, held: "2.0000" });
    const before = await wallet(place.userId);
    const refusedBy = (constraint: string) => ({ code: "23514", constraint });
    // One domain (nonnegative_credits) keeps these columns at zero or above.
    await expect(sql.query("UPDATE credit_wallets SET held = -0.0001 WHERE user_id = $1", [place.userId])).rejects.toMatchObject(refusedBy("nonnegative_credits_check"));
    await expect(sql.query("UPDATE credit_wallets SET allowance = -1 WHERE user_id = $1", [place.userId])).rejects.toMatchObject(refusedBy("nonnegative_credits_check"));
    await expect(sql.query("UPDATE room_credit_usage SET held = -1 WHERE room_id = $1", [place.roomId])).rejects.toMatchObject(refusedBy("nonnegative_credits_check"));
    await expect(sql.query("UPDATE credit_holds SET remaining = -1 WHERE turn_id = $1", [place.turnId])).rejects.toMatchObject(refusedBy("nonnegative_credits_check"));
    await expect(
      sql.query("INSERT INTO credit_transactions (user_id, kind, amount, released, balance_after, initiated_by, idempotency_key) VALUES ($1, 'debit', 0, -1, 0, 'system', $2)", [place.userId, randomUUID()]),
    ).rejects.toMatchObject(refusedBy("nonnegative_credits_check"));
    await expect(sql.query("UPDATE credit_holds SET remaining = amount + 0.0001 WHERE turn_id = $1", [place.turnId])).rejects.toMatchObject(refusedBy("credit_holds_remaining_check"));
    expect(await wallet(place.userId)).toEqual(before);
    const { rows } = await sql.query("SELECT amount::text, remaining::text FROM credit_holds WHERE turn_id = $1", [place.turnId]);
    expect(rows).toEqual([{ amount: "2.0000", remaining: "2.0000" }]);
  });
});
