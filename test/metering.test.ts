// Credits formula, pricing versions and the ledger writer on real PostgreSQL.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { createDb, type DbHandle } from "../src/db.ts";
import { chargeFor } from "../src/metering/charge.ts";
import { creditsText } from "../src/metering/creditUnits.ts";
import { CURRENT_PRICING_VERSION, pricingVersion } from "../src/metering/pricing.ts";
import { ledgerRowFor, type CallAttribution, type LedgerRow } from "../src/metering/ledger.ts";
import { LedgerJournal } from "../src/metering/ledgerJournal.ts";
import { LedgerWriter } from "../src/metering/ledgerWriter.ts";
import { queryOne, queryRows, sql } from "../src/db/sql.ts";
import { recordCallIn } from "./fixtures/ledger.ts";
import type { ProviderAttempt, ReportedUsage } from "../src/llm/types.ts";
import type { ModelAliasName } from "../src/llm/models.ts";

const usage = (prompt: number, output: number, cached?: number, cost?: string): ReportedUsage => ({
  promptTokens: prompt,
  cachedTokens: cached,
  completionTokens: output,
  totalTokens: undefined,
  costUsd: cost,
});

describe("credits formula (pricing version 2026-02-20)", () => {
  // Hand-computed: OE = fresh*0.35 + cached*0.10 + output; credits = OE/10000 * max(m, 0.5).
  test.each([
    // prompt 1000 (200 cached) → fresh 800: 280 + 20 + 500 = 800 OE
    ["deepseek", usage(1000, 500, 200), "800.0000", "0.0800"],
    ["premium", usage(1000, 500, 200), "800.0000", "1.1200"],
    ["llama", usage(1000, 500, 200), "800.0000", "0.0400"],
    ["qwen", usage(1000, 500, 200), "800.0000", "0.0400"],
    ["gpt_oss", usage(1000, 500, 200), "800.0000", "0.0400"],
    // no cached figure → all 1234 fresh: 431.9 + 567 = 998.9 OE; ×0.5/10000 = 0.049945 → 0.0499
    ["qwen", usage(1234, 567), "998.9000", "0.0499"],
    // 1 output token: 1 OE → 0.00005 → half-up 0.0001
    ["llama", usage(0, 1), "1.0000", "0.0001"],
    // 3 fresh: 1.05 OE → deepseek 0.000105 → 0.0001
    ["deepseek", usage(3, 0), "1.0500", "0.0001"],
  ] as [ModelAliasName, ReportedUsage, string, string][])("%s %o → OE %s, credits %s", (alias, reported, oe, credits) => {
    const charge = chargeFor(reported, alias, CURRENT_PRICING_VERSION);
    expect(creditsText(charge.oeTokens)).toBe(oe);
    expect(creditsText(charge.credits)).toBe(credits);
  });

  test("cached-token fallback: no cached figure means cached 0 and every input token fresh", () => {
    expect(chargeFor(usage(900, 10), "deepseek", CURRENT_PRICING_VERSION)).toMatchObject({ fresh: 900, cached: 0, output: 10, total: 910 });
  });

  test("two pricing versions exist; the alternative reprices the same tokens differently", () => {
    expect(pricingVersion("2026-02-20")?.multipliers.premium).toBe("14.00");
    const alternative = chargeFor(usage(1000, 500, 200), "premium", "2026-06-01");
    expect(creditsText(alternative.credits)).toBe("0.9600");
    expect(pricingVersion("1999-01-01")).toBeUndefined();
  });
});

describe("ledger writer", () => {
  let database: TestDatabase;
  let db: DbHandle;
  const userId = randomUUID();

  beforeAll(async () => {
    database = await createMigratedDatabase("metering");
    db = createDb({ poolUrl: database.url, poolMax: 2 });
    await db.prisma.user.create({ data: { id: userId } });
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  const attempt = (requestId: string | null): ProviderAttempt => ({
    provider: "openrouter",
    modelAlias: "premium",
    providerModel: "google/gemini-2.5-pro",
    callKind: "agent",
    status: "success",
    text: "x",
    usage: usage(1000, 500, 200, "0.01234567"),
    requestId,
    latencyMs: 42,
    errorMessage: null,
    retryable: false,
    retryAfterSeconds: null,
  });

  const direct: CallAttribution = { userId, scope: { kind: "direct", sessionId: randomUUID() }, turnId: null, stepId: null, agentId: "agent-1", turnMode: "direct" };

  test("writes exact decimals and the direct-chat attribution inside the caller's transaction", async () => {
    const requestId = `gen-${randomUUID()}`;
    await db.prisma.$transaction((tx) => recordCallIn(tx, direct, attempt(requestId)));
    const row = await db.prisma.llmCallEvent.findFirstOrThrow({ where: { requestId } });
    expect(row).toMatchObject({ sessionId: null, roomId: null, directSessionId: (direct.scope as { sessionId: string }).sessionId, inputTokensFresh: 800, inputTokensCached: 200, outputTokens: 500, totalTokens: 1500, pricingVersion: "2026-02-20", callKind: "agent", turnMode: "direct", status: "success" });
    expect(row.oeTokensComputed.toFixed(4)).toBe("800.0000");
    expect(row.creditsBurned.toFixed(4)).toBe("1.1200");
    expect(row.providerCostUsd.toFixed(8)).toBe("0.01234567");
  });

  test("a retried write of the same provider request id is recorded once", async () => {
    const requestId = `gen-${randomUUID()}`;
    const first = await db.prisma.$transaction((tx) => recordCallIn(tx, direct, attempt(requestId)));
    const second = await db.prisma.$transaction((tx) => recordCallIn(tx, direct, attempt(requestId)));
    expect([first.inserted, second.inserted]).toEqual([true, false]);
    expect(await db.prisma.llmCallEvent.count({ where: { requestId } })).toBe(1);
  });

  // The production path (metering/ledgerWriter.ts): produce → buffer → commit → acknowledge.
  describe("through the ledger writer", () => {
    let journalDir: string;
    let journal: LedgerJournal<LedgerRow>;
    let writer: LedgerWriter;
    /** Whether the journal held the watched row, unacknowledged, at the moment each statement was sent (its disk write runs alongside). */
    let atStatements: { unacknowledged: boolean }[];
    let watchedRowId = "";
    const instanceId = randomUUID();

    /** The real pool, watched: the writer sends every statement through `query`. */
    const watchedPool = (): pg.Pool =>
      ({
        query: (config: pg.QueryConfig) => {
          atStatements.push({ unacknowledged: journal.unacknowledged().some((row) => row.id === watchedRowId) });
          return db.pool.query(config);
        },
      }) as unknown as pg.Pool;

    beforeAll(async () => {
      journalDir = await mkdtemp(path.join(tmpdir(), "pantheon-metering-"));
      journal = await LedgerJournal.open<LedgerRow>({ dir: journalDir, databaseKey: "metering-test", instanceId });
      writer = new LedgerWriter({ pool: watchedPool(), statements: db.statements, journal, commitDeadlineMs: 1_000, log: () => undefined });
    });
    afterAll(async () => {
      await writer?.close();
      await rm(journalDir, { recursive: true, force: true });
    });

    /** A running step of a new turn in a new room session, and the ledger row of its provider call. */
    async function runningStep() {
      const scopes = { roomId: randomUUID(), sessionId: randomUUID(), turnId: randomUUID(), stepId: randomUUID() };
      await queryRows(
        db.pool,
        sql`WITH room AS (INSERT INTO rooms (id, owner_id, name) VALUES (${scopes.roomId}::uuid, ${userId}::uuid, 'Metered') RETURNING id),
                 session AS (INSERT INTO sessions (id, owner_id, room_id) SELECT ${scopes.sessionId}::uuid, ${userId}::uuid, id FROM room RETURNING id),
                 turn AS (INSERT INTO turns (id, session_id, user_id, seq, status, mode, roster_snapshot, user_content)
                          SELECT ${scopes.turnId}::uuid, id, ${userId}::uuid, 1, 'running', 'roundtable', '[]', 'hello' FROM session RETURNING id)
            INSERT INTO turn_steps (id, turn_id, seq, kind, model_alias) SELECT ${scopes.stepId}::uuid, id, 1, 'agent', 'premium' FROM turn`,
      );
      const attribution: CallAttribution = { userId, scope: { kind: "room", roomId: scopes.roomId, sessionId: scopes.sessionId }, turnId: scopes.turnId, stepId: scopes.stepId, agentId: randomUUID(), turnMode: "roundtable" };
      const row = ledgerRowFor(attribution, attempt(`gen-${randomUUID()}`));
      watchedRowId = row.id;
      atStatements = [];
      return { stepId: scopes.stepId, row };
    }

    const stepState = (stepId: string) => queryOne<{ status: string; output: string | null }>(db.pool, sql`SELECT status, output FROM turn_steps WHERE id = ${stepId}::uuid`);

    const onDisk = (rowId: string) => readFileSync(path.join(journalDir, `${instanceId}.ledger.jsonl`), "utf8").includes(rowId);

    test("a row commits in the same statement as its step's result while it is written to disk; acknowledged once both are done", async () => {
      const { stepId, row } = await runningStep();
      const completeStep = sql`step_result AS (UPDATE turn_steps SET status = 'completed', output = ${"Done."}, completed_at = now() WHERE id = ${stepId}::uuid RETURNING id)`;
      const committedBefore = writer.committed();

      expect(await writer.record([row], [completeStep], sql`(SELECT count(*) FROM step_result)::int AS steps`)).toEqual({ steps: 1 });

      // Written by one transaction: the row and the step it belongs to carry the same xmin.
      const written = sql`SELECT e.xmin::text = s.xmin::text AS together, e.step_id FROM llm_call_events e JOIN turn_steps s ON s.id = ${stepId}::uuid WHERE e.id = ${row.id}::uuid`;
      expect(await queryRows(db.pool, written)).toEqual([{ together: true, step_id: stepId }]);
      expect(atStatements).toEqual([{ unacknowledged: true }]);
      expect(onDisk(row.id)).toBe(true);
      expect(await stepState(stepId)).toEqual({ status: "completed", output: "Done." });
      expect(journal.unacknowledged().map((buffered) => buffered.id)).not.toContain(row.id);
      expect(writer.committed()).toBe(committedBefore + 1);
    });

    test("when the step's result cannot commit, the call fails and nothing of it commits, but its row stays buffered and commits alone, once", async () => {
      const { stepId, row } = await runningStep();
      // The step's write is refused by the database (a turn that does not exist): not transient, so not retried.
      const refusedStep = sql`step_result AS (UPDATE turn_steps SET status = 'completed', output = ${"Lost."}, turn_id = ${randomUUID()}::uuid WHERE id = ${stepId}::uuid RETURNING id)`;

      await expect(writer.record([row], [refusedStep])).rejects.toMatchObject({ code: "23503" });
      await writer.flush();

      expect(await stepState(stepId)).toEqual({ status: "running", output: null });
      expect(await queryRows(db.pool, sql`SELECT step_id FROM llm_call_events WHERE id = ${row.id}::uuid`)).toEqual([{ step_id: stepId }]);
      expect(atStatements.length).toBeGreaterThanOrEqual(2);
      expect(atStatements.every((seen) => seen.unacknowledged)).toBe(true);
      expect(onDisk(row.id)).toBe(true);
      expect(journal.unacknowledged().map((buffered) => buffered.id)).not.toContain(row.id);
      expect(writer.backlogSize()).toBe(0);
    });
  });
});
