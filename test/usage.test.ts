// A user's usage over real HTTP: totals and every grouping equal sums the
// test computes from the rows it inserted (failed calls, cached tokens,
// direct chats included); filters, scopes, the ledger connection, range
// rules, another user's rows never showing up, and an agent named by several
// groups read once.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { RoomUsageDocument, SessionUsageDocument, TurnUsageDocument, ViewerLedgerDocument, ViewerUsageDocument, type UsageDimension, type ViewerLedgerQuery } from "./generated/graphql.ts";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { dataOf, errorCodes, graphqlClient, type GraphQLClient } from "./support/graphqlClient.ts";
import { signTestToken } from "./fixtures/users.ts";
import { insertLedgerRows, insertUserWithScopes, ledgerRow, type LedgerFixture, type UserScopes } from "./fixtures/ledger.ts";
import { expectedTotals, groupRows, utcDay } from "./support/usageExpectations.ts";
import { recordStatements } from "./support/statementRecorder.ts";
import { MODEL_ALIASES } from "../src/llm/models.ts";

const FROM = new Date("2026-03-01T00:00:00Z");
const TO = new Date("2026-03-04T00:00:00Z");
const HOUR = 3_600_000;
const MODES = ["manual", "roundtable", "orchestrator"] as const;
const ORCHESTRATOR_KINDS = ["agent", "manager_route", "synthesis", "repair"] as const;

let database: TestDatabase;
let server: TestServer;
let sql: pg.Client;
let alice: GraphQLClient;
let bob: GraphQLClient;
let aliceScopes: UserScopes;
let bobScopes: UserScopes;
const aliceId = randomUUID();
const bobId = randomUUID();
let aliceRows: LedgerFixture[];
let bobRows: LedgerFixture[];

/** A varied day of calls: models, failures, cached tokens, direct chats, manager steps, missing latencies, equal timestamps. */
function aliceCalls(scopes: UserScopes): LedgerFixture[] {
  return Array.from({ length: 48 }, (_, i) => {
    const direct = i % 3 === 0;
    const mode = direct ? "direct" : MODES[i % 3]!;
    const callKind = i % 10 === 9 ? "summary" : mode === "orchestrator" ? ORCHESTRATOR_KINDS[i % 4]! : "agent";
    const failed = i % 7 === 3 ? "error" : i % 11 === 5 ? "timeout" : "success";
    return ledgerRow({
      userId: aliceId,
      createdAt: new Date(FROM.getTime() + (i % 3) * 24 * HOUR + (i % 24) * HOUR),
      modelAlias: MODEL_ALIASES[i % 5]!,
      fresh: 100 + 13 * i,
      cached: i % 4 === 0 ? 0 : 37 * i,
      output: failed === "error" ? 0 : 20 + 3 * i,
      status: failed,
      latencyMs: i % 9 === 0 ? null : 100 + ((i * 37) % 900),
      costUsd: (0.00001 * (i + 1)).toFixed(8),
      roomId: direct ? null : scopes.roomId,
      sessionId: direct ? null : scopes.sessionId,
      directSessionId: direct ? scopes.directSessionId : null,
      turnId: !direct && i % 2 === 0 ? scopes.turnId : null,
      agentId: callKind === "manager_route" || callKind === "synthesis" ? null : scopes.agentId,
      callKind,
      turnMode: mode,
    });
  });
}

beforeAll(async () => {
  database = await createMigratedDatabase("usage");
  server = await startTestServer(database.url);
  sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
  aliceScopes = await insertUserWithScopes(sql, aliceId);
  bobScopes = await insertUserWithScopes(sql, bobId);
  const outside = [
    ledgerRow({ userId: aliceId, createdAt: new Date(FROM.getTime() - 1), modelAlias: "premium", roomId: aliceScopes.roomId, sessionId: aliceScopes.sessionId }),
    ledgerRow({ userId: aliceId, createdAt: TO, modelAlias: "qwen", roomId: aliceScopes.roomId, sessionId: aliceScopes.sessionId }),
  ];
  aliceRows = [...aliceCalls(aliceScopes), ...outside];
  bobRows = Array.from({ length: 10 }, (_, i) =>
    ledgerRow({ userId: bobId, createdAt: new Date(FROM.getTime() + i * HOUR), modelAlias: "deepseek", fresh: 5000, roomId: bobScopes.roomId, sessionId: bobScopes.sessionId }),
  );
  await insertLedgerRows(sql, [...aliceRows, ...bobRows]);
  alice = graphqlClient(server.graphqlUrl, await signTestToken({ sub: aliceId }));
  bob = graphqlClient(server.graphqlUrl, await signTestToken({ sub: bobId }));
});
afterAll(async () => {
  await sql?.end();
  await server?.close();
  await database?.drop();
});

const inRange = (rows: LedgerFixture[]) => rows.filter((row) => row.createdAt >= FROM && row.createdAt < TO);
const filter = { from: FROM.toISOString(), to: TO.toISOString() };

const DIMENSION_KEYS: Record<UsageDimension, (row: LedgerFixture) => string | null> = {
  MODEL_ALIAS: (row) => row.modelAlias,
  DAY: (row) => utcDay(row.createdAt),
  ROOM: (row) => row.roomId,
  AGENT: (row) => row.agentId,
  MODE: (row) => row.turnMode,
  STEP_KIND: (row) => row.callKind,
};
const GROUP_FIELDS: Record<UsageDimension, "modelAlias" | "day" | "roomId" | "agentId" | "mode" | "stepKind"> = {
  MODEL_ALIAS: "modelAlias", DAY: "day", ROOM: "roomId", AGENT: "agentId", MODE: "mode", STEP_KIND: "stepKind",
};

describe("viewer.usage", () => {
  test("totals equal the sums of the viewer's rows in [from, to), as charged", async () => {
    const report = dataOf(await alice(ViewerUsageDocument, { filter })).viewer!.usage;
    expect(report.totals).toEqual(expectedTotals(inRange(aliceRows)));
    expect(report.totals.errorCount).toBeGreaterThan(0);
    expect(report.totals.inputTokensCached).toBeGreaterThan(0);
    expect(report).toMatchObject({ repriced: false, pricingVersions: ["2026-02-20"], from: FROM.toISOString(), to: TO.toISOString(), groups: [] });
  });

  const groupings: UsageDimension[][] = [["MODEL_ALIAS"], ["DAY"], ["ROOM"], ["AGENT"], ["MODE"], ["STEP_KIND"], ["MODEL_ALIAS", "DAY"], ["MODE", "STEP_KIND", "ROOM"]];
  test.each(groupings)("grouped by %s: every group equals the test's own sums", async (...dimensions) => {
    const report = dataOf(await alice(ViewerUsageDocument, { filter, groupBy: dimensions })).viewer!.usage;
    const expected = groupRows(inRange(aliceRows), (row) => dimensions.map((dimension) => DIMENSION_KEYS[dimension](row)));
    expect(report.groups).toHaveLength(expected.size);
    for (const group of report.groups) {
      const key = JSON.stringify(dimensions.map((dimension) => group[GROUP_FIELDS[dimension]]));
      expect(group.totals, key).toEqual(expectedTotals(expected.get(key) ?? []));
    }
    expect(report.totals).toEqual(expectedTotals(inRange(aliceRows)));
    // A group by agent names the agent itself, not only its id.
    for (const group of report.groups) expect(group.agent?.id ?? null).toBe(group.agentId ?? null);
    if (dimensions.includes("AGENT")) expect(report.groups.map((group) => group.agent?.agentKey ?? null)).toContain("scout");
  });

  test("grouped by agent and day, the agent is read once for all its days", async () => {
    const recorder = recordStatements(sql);
    try {
      const groups = dataOf(await alice(ViewerUsageDocument, { filter, groupBy: ["AGENT", "DAY"] })).viewer!.usage.groups.filter((group) => group.agentId !== null);
      expect(groups.map((group) => [group.agentId, group.agent?.agentKey])).toEqual([0, 1, 2].map(() => [aliceScopes.agentId, "scout"]));
      const agentReads = recorder.sent.filter((statement) => Array.isArray(statement.values[0]) && statement.values[0].includes(aliceScopes.agentId));
      expect(agentReads.map((statement) => statement.values[0])).toEqual([[aliceScopes.agentId]]);
    } finally {
      recorder.stop();
    }
  });

  test.each([
    ["roomId", () => aliceScopes.roomId, (row: LedgerFixture) => row.roomId === aliceScopes.roomId],
    ["sessionId (direct chat)", () => aliceScopes.directSessionId, (row: LedgerFixture) => row.directSessionId === aliceScopes.directSessionId],
    ["sessionId (room session)", () => aliceScopes.sessionId, (row: LedgerFixture) => row.sessionId === aliceScopes.sessionId],
  ])("filtered by %s", async (name, id, keep) => {
    const field = name.startsWith("roomId") ? "roomId" : "sessionId";
    const report = dataOf(await alice(ViewerUsageDocument, { filter: { ...filter, [field]: id() } })).viewer!.usage;
    expect(report.totals).toEqual(expectedTotals(inRange(aliceRows).filter(keep)));
  });

  test("filtered by model alias", async () => {
    const report = dataOf(await alice(ViewerUsageDocument, { filter: { ...filter, modelAlias: "PREMIUM" } })).viewer!.usage;
    expect(report.totals).toEqual(expectedTotals(inRange(aliceRows).filter((row) => row.modelAlias === "premium")));
  });

  test("an empty range returns zeros, not nulls", async () => {
    const report = dataOf(await alice(ViewerUsageDocument, { filter: { from: "2025-01-01T00:00:00Z", to: "2025-01-02T00:00:00Z" }, groupBy: ["DAY"] })).viewer!.usage;
    expect(report.totals).toEqual({
      calls: 0, errorCount: 0, inputTokensFresh: 0, inputTokensCached: 0, outputTokens: 0, totalTokens: 0,
      oeTokens: "0.0000", credits: "0.0000", providerCostUsd: "0.00000000", latencyP50Ms: 0, latencyP95Ms: 0,
    });
    expect(report.groups).toEqual([]);
    expect(report.pricingVersions).toEqual([]);
  });

  test.each([
    ["from after to", { from: TO.toISOString(), to: FROM.toISOString() }, null],
    ["from equal to to", { from: FROM.toISOString(), to: FROM.toISOString() }, null],
    ["more than 366 days", { from: "2025-01-01T00:00:00Z", to: "2026-01-03T00:00:00Z" }, null],
    ["an unknown pricing version", filter, "1999-01-01"],
  ])("%s is VALIDATION_FAILED", async (_name, range, pricingVersion) => {
    const response = await alice(ViewerUsageDocument, { filter: range, pricingVersion });
    expect(errorCodes(response)).toEqual(["VALIDATION_FAILED"]);
  });

  test("another user's rows never count, even when filtering by that user's room", async () => {
    const own = dataOf(await bob(ViewerUsageDocument, { filter })).viewer!.usage;
    expect(own.totals).toEqual(expectedTotals(bobRows));
    const foreign = dataOf(await bob(ViewerUsageDocument, { filter: { ...filter, roomId: aliceScopes.roomId } })).viewer!.usage;
    expect(foreign.totals.calls).toBe(0);
    expect((await bob(RoomUsageDocument, { id: aliceScopes.roomId })).data?.room ?? null).toBeNull();
  });

  test("without a token usage is UNAUTHENTICATED", async () => {
    const anonymous = graphqlClient(server.graphqlUrl);
    expect(errorCodes(await anonymous(ViewerUsageDocument, { filter }))).toEqual([]);
    expect(dataOf(await anonymous(ViewerUsageDocument, { filter })).viewer).toBeNull();
  });
});

describe("room, session and turn usage", () => {
  test("room.usage is the room's all-time rows", async () => {
    const report = dataOf(await alice(RoomUsageDocument, { id: aliceScopes.roomId, groupBy: ["MODEL_ALIAS"] })).room!.usage;
    const rows = aliceRows.filter((row) => row.roomId === aliceScopes.roomId);
    expect(report.totals).toEqual(expectedTotals(rows));
    expect(report).toMatchObject({ from: null, to: null });
    expect(report.groups).toHaveLength(groupRows(rows, (row) => [row.modelAlias]).size);
  });

  test("session.usage of a direct chat counts the direct calls", async () => {
    const report = dataOf(await alice(SessionUsageDocument, { id: aliceScopes.directSessionId })).session!.usage;
    expect(report.totals).toEqual(expectedTotals(aliceRows.filter((row) => row.directSessionId === aliceScopes.directSessionId)));
  });

  test("turn.usage counts the turn's calls, failed ones included", async () => {
    const report = dataOf(await alice(TurnUsageDocument, { id: aliceScopes.turnId })).turn!.usage;
    const rows = aliceRows.filter((row) => row.turnId === aliceScopes.turnId);
    expect(rows.some((row) => row.status !== "success")).toBe(true);
    expect(report.totals).toEqual(expectedTotals(rows));
  });
});

describe("viewer.llmCallEvents", () => {
  test("pages through exactly the viewer's rows, newest first, ties broken by id", async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 20; page++) {
      const connection: NonNullable<ViewerLedgerQuery["viewer"]>["llmCallEvents"] = dataOf(await alice(ViewerLedgerDocument, { first: 7, after })).viewer!.llmCallEvents;
      seen.push(...connection.edges.map((edge) => edge.node.id));
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor!;
    }
    const expected = [...aliceRows].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (b.id < a.id ? -1 : 1)).map((row) => row.id);
    expect(seen).toEqual(expected);
  });

  test("rows carry what was recorded, and filters narrow them", async () => {
    const connection = dataOf(await alice(ViewerLedgerDocument, { first: 100, filter: { ...filter, sessionId: aliceScopes.directSessionId } })).viewer!.llmCallEvents;
    const expected = inRange(aliceRows).filter((row) => row.directSessionId === aliceScopes.directSessionId);
    expect(connection.edges).toHaveLength(expected.length);
    const sample = expected[0]!;
    const node = connection.edges.find((edge) => edge.node.id === sample.id)!.node;
    expect(node).toMatchObject({
      modelAlias: sample.modelAlias, status: sample.status, roomId: null, sessionId: sample.directSessionId, mode: "direct",
      inputTokensCached: sample.cached, oeTokens: sample.oeTokens, credits: sample.credits, providerCostUsd: sample.costUsd, pricingVersion: "2026-02-20",
    });
  });

  test("first above 100 and backward paging are VALIDATION_FAILED; a bad cursor too", async () => {
    expect(errorCodes(await alice(ViewerLedgerDocument, { first: 101 }))).toEqual(["VALIDATION_FAILED"]);
    expect(errorCodes(await alice(ViewerLedgerDocument, { first: 5, after: "bm90LWEtY3Vyc29y" }))).toEqual(["VALIDATION_FAILED"]);
  });

  test("another user's ledger shows none of the viewer's rows", async () => {
    const connection = dataOf(await bob(ViewerLedgerDocument, { first: 100 })).viewer!.llmCallEvents;
    expect(connection.edges.map((edge) => edge.node.id).sort()).toEqual(bobRows.map((row) => row.id).sort());
  });
});
