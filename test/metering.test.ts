// Credits formula, pricing versions and the ledger writer on real PostgreSQL.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { createDb, type DbHandle } from "../src/db.ts";
import { chargeFor } from "../src/metering/charge.ts";
import { CURRENT_PRICING_VERSION, pricingVersion } from "../src/metering/pricing.ts";
import type { CallAttribution } from "../src/metering/ledger.ts";
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
    expect(charge.oeTokens.toFixed(4)).toBe(oe);
    expect(charge.credits.toFixed(4)).toBe(credits);
  });

  test("cached-token fallback: no cached figure means cached 0 and every input token fresh", () => {
    expect(chargeFor(usage(900, 10), "deepseek", CURRENT_PRICING_VERSION)).toMatchObject({ fresh: 900, cached: 0, output: 10, total: 910 });
  });

  test("two pricing versions exist; the alternative reprices the same tokens differently", () => {
    expect(pricingVersion("2026-02-20")?.multipliers.premium).toBe("14.00");
    const alternative = chargeFor(usage(1000, 500, 200), "premium", "2026-06-01");
    expect(alternative.credits.toFixed(4)).toBe("0.9600");
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

  test("a rolled-back transaction leaves no row (the row lives and dies with its result)", async () => {
    const requestId = `gen-${randomUUID()}`;
    await expect(
      db.prisma.$transaction(async (tx) => {
        await recordCallIn(tx, direct, attempt(requestId));
        throw new Error("result write failed");
      }),
    ).rejects.toThrow("result write failed");
    expect(await db.prisma.llmCallEvent.count({ where: { requestId } })).toBe(0);
  });
});
