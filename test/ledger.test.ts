// The usage ledger in the migrated database matches SPEC section 4 and behaves
// as the money-grade contract requires.
import { randomUUID } from "node:crypto";
import { describe, expect, test } from "vitest";
import { useMigratedDatabase } from "./support/database.ts";
import { introspectTable } from "../src/gates/introspectTable.ts";
import { compareTableContract } from "../src/gates/compareContract.ts";
import { ledgerContract, normalizeDefault, normalizePredicate, normalizeType } from "../src/gates/ledgerContract.ts";

const connected = useMigratedDatabase("ledger");

describe("llm_call_events matches the ledger contract", () => {
  test("column by column: name, type, nullability, default", async () => {
    const live = await introspectTable(connected.client, ledgerContract.table);
    for (const expected of ledgerContract.columns) {
      const actual = live.columns.find((column) => column.name === expected.name);
      expect(actual, expected.name).toBeDefined();
      expect(normalizeType(actual!.type), expected.name).toBe(expected.type);
      expect(actual!.nullable, expected.name).toBe(expected.nullable);
      if (expected.default) expect(normalizeDefault(actual!.default ?? "")).toBe(expected.default);
    }
  });

  test("index by index: name, columns, uniqueness, partial predicate", async () => {
    const live = await introspectTable(connected.client, ledgerContract.table);
    for (const expected of ledgerContract.indexes) {
      const actual = live.indexes.find((index) => index.name === expected.name);
      expect(actual, expected.name).toBeDefined();
      expect(actual!.columns).toEqual(expected.columns);
      expect(actual!.unique).toBe(expected.unique);
      expect(actual!.predicate ? normalizePredicate(actual!.predicate) : undefined).toBe(expected.predicate);
    }
  });

  test("FK by FK: target and delete rule; snapshot columns have none", async () => {
    const live = await introspectTable(connected.client, ledgerContract.table);
    for (const expected of ledgerContract.foreignKeys) {
      const actual = live.foreignKeys.find((fk) => fk.columns.join() === expected.column);
      expect(actual, expected.column).toMatchObject({
        targetTable: expected.targetTable,
        targetColumns: [expected.targetColumn],
        onDelete: expected.onDelete,
      });
    }
    expect(live.foreignKeys.filter((fk) => fk.columns.some((c) => ledgerContract.noForeignKey.includes(c)))).toEqual([]);
  });

  test("the comparison Gate A uses finds no difference", async () => {
    expect(compareTableContract(ledgerContract, await introspectTable(connected.client, ledgerContract.table))).toEqual([]);
  });
});

async function insertUser(): Promise<string> {
  const id = randomUUID();
  await connected.client.query("INSERT INTO users (id) VALUES ($1)", [id]);
  return id;
}

async function insertRoomWithSession(userId: string) {
  const roomId = randomUUID();
  const sessionId = randomUUID();
  await connected.client.query("INSERT INTO rooms (id, owner_id, name) VALUES ($1, $2, 'Council')", [roomId, userId]);
  await connected.client.query("INSERT INTO sessions (id, owner_id, room_id) VALUES ($1, $2, $3)", [sessionId, userId, roomId]);
  return { roomId, sessionId };
}

async function insertEvent(values: { userId: string; roomId?: string | null; sessionId?: string | null; requestId?: string | null }) {
  const id = randomUUID();
  await connected.client.query(
    `INSERT INTO llm_call_events (id, user_id, room_id, session_id, provider, model_alias, provider_model,
       input_tokens_fresh, input_tokens_cached, output_tokens, total_tokens, oe_tokens_computed,
       provider_cost_usd, credits_burned, status, pricing_version, request_id)
     VALUES ($1, $2, $3, $4, 'local', 'deepseek', 'deepseek/deepseek-v3.1-terminus',
       100, 0, 50, 150, 85, 0, 0.0085, 'success', '2026-02-20', $5)`,
    [id, values.userId, values.roomId ?? null, values.sessionId ?? null, values.requestId ?? null],
  );
  return id;
}

describe("ledger behaviour", () => {
  test("deleting a room keeps its events, with room_id and session_id set to NULL", async () => {
    const userId = await insertUser();
    const { roomId, sessionId } = await insertRoomWithSession(userId);
    const eventId = await insertEvent({ userId, roomId, sessionId });
    await connected.client.query("DELETE FROM rooms WHERE id = $1", [roomId]);
    const { rows } = await connected.client.query("SELECT room_id, session_id, total_tokens FROM llm_call_events WHERE id = $1", [eventId]);
    expect(rows).toEqual([{ room_id: null, session_id: null, total_tokens: 150 }]);
  });

  test("deleting a user who has events is refused", async () => {
    const userId = await insertUser();
    await insertEvent({ userId });
    await expect(connected.client.query("DELETE FROM users WHERE id = $1", [userId])).rejects.toMatchObject({ code: "23503" });
  });

  test("a duplicate non-null request_id is rejected; many NULL request_ids are accepted", async () => {
    const userId = await insertUser();
    await insertEvent({ userId, requestId: "gen-123" });
    await expect(insertEvent({ userId, requestId: "gen-123" })).rejects.toMatchObject({
      code: "23505",
      constraint: "uq_llm_call_events_request_id",
    });
    await insertEvent({ userId });
    await insertEvent({ userId });
    const { rows } = await connected.client.query("SELECT count(*)::int AS n FROM llm_call_events WHERE user_id = $1 AND request_id IS NULL", [userId]);
    expect(rows[0].n).toBe(2);
  });

  test("ledger rows cannot be edited or deleted", async () => {
    const userId = await insertUser();
    const eventId = await insertEvent({ userId });
    await expect(connected.client.query("UPDATE llm_call_events SET credits_burned = 0 WHERE id = $1", [eventId])).rejects.toThrow(/append-only/);
    await expect(connected.client.query("DELETE FROM llm_call_events WHERE id = $1", [eventId])).rejects.toThrow(/append-only/);
  });

  test.each([
    ["both a room and an agent", true, true],
    ["neither a room nor an agent", false, false],
  ])("a session with %s is rejected by the database", async (_label, withRoom, withAgent) => {
    const userId = await insertUser();
    const { roomId } = await insertRoomWithSession(userId);
    const agentId = randomUUID();
    await connected.client.query("INSERT INTO agents (id, owner_id, agent_key, name, model_alias) VALUES ($1, $2, 'scout', 'Scout', 'llama')", [agentId, userId]);
    await expect(
      connected.client.query("INSERT INTO sessions (id, owner_id, room_id, agent_id) VALUES ($1, $2, $3, $4)", [
        randomUUID(),
        userId,
        withRoom ? roomId : null,
        withAgent ? agentId : null,
      ]),
    ).rejects.toMatchObject({ code: "23514", constraint: "sessions_scope_check" });
  });
});
