// The turn engine end to end over HTTP: every mode, metering against the
// provider calls the loopback OpenRouter server received, concurrency.
import { describe, expect, test } from "vitest";
import { PreviewRoutingDocument, SessionTurnsDocument, SetRoomModeDocument, UnassignAgentDocument } from "./generated/graphql.ts";
import { dataOf } from "./support/graphqlClient.ts";
import { useCouncilServer } from "./support/councilServer.ts";
import { createAgent, createCouncil, createSession, send, sendAccepted, waitForTurn } from "./fixtures/turns.ts";
import { INTERRUPTED_LEASE_ERROR } from "../src/turns/leaseSql.ts";

const harness = useCouncilServer("turns", { OPENROUTER_MAX_RETRIES: "1" });

function ledgerRows(turnId: string) {
  return harness.server.runtime.prisma.llmCallEvent.findMany({ where: { turnId }, orderBy: { createdAt: "asc" } });
}

/** Runs `act` and returns how many provider calls the loopback server received meanwhile. */
async function countingCalls<T>(act: () => Promise<T>): Promise<{ result: T; calls: number }> {
  const before = harness.fake.calls.length;
  const result = await act();
  return { result, calls: harness.fake.calls.length - before };
}

describe("roundtable", () => {
  test("every agent answers in position order, later agents see earlier answers; one ledger row per provider call with hand-computed credits", async () => {
    const council = await createCouncil(harness.client, "ROUNDTABLE", [["ada", "QWEN"], ["bob", "DEEPSEEK"], ["cyd", "PREMIUM"]]);
    const { result: turn, calls } = await countingCalls(async () => waitForTurn(harness.client, await sendAccepted(harness.client, council.sessionId, "How should we launch?")));
    expect(turn.status).toBe("COMPLETED");
    expect(turn.mode).toBe("ROUNDTABLE");
    expect(turn.steps.map((step) => [step.kind, step.agentKey, step.status])).toEqual(council.agents.map((agent) => ["AGENT", agent.agentKey, "COMPLETED"]));
    expect(turn.steps[0]!.allowedTools).toEqual(["search"]);
    const lastCall = harness.fake.calls.at(-1)!.body.messages.map((message) => message.content).join("\n");
    expect(lastCall).toContain(`Answer from ${council.agents[0]!.agentKey}.`);
    expect(lastCall).toContain(`Answer from ${council.agents[1]!.agentKey}.`);
    expect(lastCall).toContain("Tools you may use: search");

    const rows = await ledgerRows(turn.id);
    expect(rows).toHaveLength(calls);
    expect(calls).toBe(3);
    // OE = 800*0.35 + 200*0.10 + 500 = 800; credits = 800/10000 × {qwen 0.5, deepseek 1, premium 14}
    expect(rows.map((row) => [row.modelAlias, row.creditsBurned.toFixed(4), row.oeTokensComputed.toFixed(4)])).toEqual([
      ["qwen", "0.0400", "800.0000"],
      ["deepseek", "0.0800", "800.0000"],
      ["premium", "1.1200", "800.0000"],
    ]);
    for (const row of rows) {
      expect(row).toMatchObject({ status: "success", sessionId: council.sessionId, roomId: council.roomId, directSessionId: null, callKind: "agent", turnMode: "roundtable", inputTokensFresh: 800, inputTokensCached: 200, outputTokens: 500, totalTokens: 1500, pricingVersion: "2026-02-20", provider: "openrouter" });
      expect(row.requestId).toMatch(/^gen-/);
    }
    expect(turn.usageTotals).toMatchObject({ calls: 3, credits: "1.2400", providerCostUsd: "0.00750000" });
    expect(await harness.server.runtime.prisma.turnContextAudit.count({ where: { turnId: turn.id } })).toBe(3);
    expect(turn.messages.map((message) => message.role)).toEqual(["USER", "AGENT", "AGENT", "AGENT"]);
  });

  test("one failing agent: the others still answer, the turn is PARTIAL, and every attempt (retries included) is metered", async () => {
    const council = await createCouncil(harness.client, "ROUNDTABLE", [["ada", "QWEN"], ["bob", "QWEN"], ["cyd", "QWEN"]]);
    harness.script.failing.add(council.agents[1]!.agentKey);
    const { result: turn, calls } = await countingCalls(async () => waitForTurn(harness.client, await sendAccepted(harness.client, council.sessionId, "Go")));
    expect(turn.status).toBe("PARTIAL");
    expect(turn.steps.map((step) => step.status)).toEqual(["COMPLETED", "FAILED", "COMPLETED"]);
    const rows = await ledgerRows(turn.id);
    expect(calls).toBe(4); // ada, bob twice (one retry), cyd
    expect(rows).toHaveLength(calls);
    expect(rows.filter((row) => row.status === "error")).toHaveLength(2);
    for (const row of rows.filter((row) => row.status === "error")) {
      expect(row).toMatchObject({ inputTokensFresh: 0, outputTokens: 0, stepId: turn.steps[1]!.id });
      expect(row.creditsBurned.toFixed(4)).toBe("0.0000");
    }
  });
});

describe("manual", () => {
  test("tagged agents answer in tag order, each once; unknown tags are ignored", async () => {
    const council = await createCouncil(harness.client, "MANUAL", [["ada", "QWEN"], ["bob", "QWEN"], ["cyd", "QWEN"]]);
    const [ada, , cyd] = council.agents;
    const turn = await waitForTurn(harness.client, await sendAccepted(harness.client, council.sessionId, `@${cyd!.agentKey} first, then @${ada!.agentKey}, @nobody and @${cyd!.agentKey} again`));
    expect(turn.steps.map((step) => step.agentKey)).toEqual([cyd!.agentKey, ada!.agentKey]);
    expect(turn.mode).toBe("MANUAL");
  });

  test("no valid tag: NO_VALID_TAGS and nothing is written, no provider call made", async () => {
    const council = await createCouncil(harness.client, "MANUAL", [["ada", "QWEN"]]);
    const before = await harness.server.runtime.prisma.message.count();
    const { result, calls } = await countingCalls(() => send(harness.client, council.sessionId, "hello @nobody"));
    expect(result).toMatchObject({ __typename: "NoValidTagsError", code: "NO_VALID_TAGS", availableAgentKeys: [council.agents[0]!.agentKey] });
    expect(calls).toBe(0);
    expect(await harness.server.runtime.prisma.turn.count({ where: { sessionId: council.sessionId } })).toBe(0);
    expect(await harness.server.runtime.prisma.message.count()).toBe(before);
  });
});

describe("orchestrator", () => {
  test("the manager routes (repeats allowed), agents run in that order, then a synthesis; every call metered with its kind", async () => {
    const council = await createCouncil(harness.client, "ORCHESTRATOR", [["ada", "QWEN"], ["bob", "QWEN"]]);
    const [ada, bob] = council.agents;
    harness.script.routing.push(JSON.stringify({ steps: [{ agentKey: bob!.agentKey, instruction: "draft" }, { agentKey: ada!.agentKey, instruction: "review" }, { agentKey: bob!.agentKey, instruction: "revise" }], rationale: "draft, review, revise" }));
    const { result: turn, calls } = await countingCalls(async () => waitForTurn(harness.client, await sendAccepted(harness.client, council.sessionId, "Plan the launch")));
    expect(turn.status).toBe("COMPLETED");
    expect(turn.steps.map((step) => [step.kind, step.agentKey])).toEqual([
      ["MANAGER_ROUTE", null],
      ["AGENT", bob!.agentKey],
      ["AGENT", ada!.agentKey],
      ["AGENT", bob!.agentKey],
      ["MANAGER_CONTINUE", null],
      ["MANAGER_SYNTHESIS", null],
    ]);
    expect(turn.steps.map((step) => step.round)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(turn.stopReason).toBe("DONE");
    expect(turn.steps[4]!.roundDecision).toEqual({ __typename: "StopRounds", rationale: "enough" });
    expect(turn.steps[0]!.routing).toMatchObject({
      __typename: "RouteToAgents",
      rationale: "draft, review, revise",
      metered: true,
      steps: [bob, ada, bob].map((agent) => ({ agent: { agentKey: agent!.agentKey } })),
    });
    expect(turn.steps.slice(1).every((step) => step.routing === null)).toBe(true);
    expect(turn.steps[0]!.modelAlias).toBe("deepseek");
    expect(harness.fake.calls.at(-6)!.body.response_format).toMatchObject({ type: "json_schema", json_schema: { name: "routing_decision" } });
    expect(harness.fake.calls.at(-2)!.body.response_format).toMatchObject({ type: "json_schema", json_schema: { name: "round_decision" } });
    const rows = await ledgerRows(turn.id);
    expect(rows).toHaveLength(calls);
    expect(rows.map((row) => row.callKind)).toEqual(["manager_route", "agent", "agent", "agent", "manager_continue", "synthesis"]);
    expect(rows[0]!.creditsBurned.toFixed(4)).toBe("0.0800");
    expect(turn.messages.at(-1)).toMatchObject({ role: "SYNTHESIS", content: "Synthesis: the council agrees." });
  });

  const fenced = (json: string) => "```json\n" + json + "\n```";
  test.each([
    ["comma-separated names", (keys: string[]) => keys.join(", ")],
    ["prose", (keys: string[]) => `I would ask ${keys[0]} to answer.`],
    ["fenced JSON", (keys: string[]) => fenced(JSON.stringify({ steps: [{ agentKey: keys[0], instruction: "x" }], rationale: "r" }))],
    ["unknown agent keys", () => JSON.stringify({ steps: [{ agentKey: "mallory", instruction: "x" }], rationale: "r" })],
    ["over the per-agent cap", (keys: string[]) => JSON.stringify({ steps: Array.from({ length: 4 }, () => ({ agentKey: keys[0], instruction: "x" })), rationale: "r" })],
  ])("malformed manager output (%s) twice: no routing by guessing, the turn FAILS after one repair, both calls metered", async (_name, output) => {
    const council = await createCouncil(harness.client, "ORCHESTRATOR", [["ada", "QWEN"], ["bob", "QWEN"]]);
    const keys = council.agents.map((agent) => agent.agentKey);
    harness.script.routing.push(output(keys), output(keys));
    const { result: turn, calls } = await countingCalls(async () => waitForTurn(harness.client, await sendAccepted(harness.client, council.sessionId, "Plan")));
    expect(turn.status).toBe("FAILED");
    expect(turn.steps.map((step) => [step.kind, step.status])).toEqual([["MANAGER_ROUTE", "FAILED"]]);
    expect(turn.steps[0]!.routing).toMatchObject({ __typename: "RoutingRejected", reason: "INVALID_MANAGER_OUTPUT" });
    expect((turn.steps[0]!.routing as { issues: string[] }).issues.length).toBeGreaterThan(0);
    const rows = await ledgerRows(turn.id);
    expect(calls).toBe(2);
    expect(rows.map((row) => row.callKind)).toEqual(["manager_route", "repair"]);
    expect(harness.fake.calls.at(-1)!.body.messages.at(-1)!.content).toContain("Your answer was rejected");
  });

  test("a repaired decision is used", async () => {
    const council = await createCouncil(harness.client, "ORCHESTRATOR", [["ada", "QWEN"], ["bob", "QWEN"]]);
    harness.script.routing.push("bob, ada", JSON.stringify({ steps: [{ agentKey: council.agents[0]!.agentKey, instruction: "x" }], rationale: "fixed" }));
    const turn = await waitForTurn(harness.client, await sendAccepted(harness.client, council.sessionId, "Plan"));
    expect(turn.status).toBe("COMPLETED");
    expect(turn.steps.map((step) => step.kind)).toEqual(["MANAGER_ROUTE", "AGENT", "MANAGER_CONTINUE", "MANAGER_SYNTHESIS"]);
    expect((await ledgerRows(turn.id)).map((row) => row.callKind)).toEqual(["manager_route", "repair", "agent", "manager_continue", "synthesis"]);
  });
});

describe("direct sessions", () => {
  test("the single agent answers; the ledger row carries direct_session_id, not session_id or room_id", async () => {
    const agent = await createAgent(harness.client, "solo_direct", "LLAMA");
    const sessionId = await createSession(harness.client, { agentId: agent.id });
    const turn = await waitForTurn(harness.client, await sendAccepted(harness.client, sessionId, "Hi"));
    expect(turn).toMatchObject({ status: "COMPLETED", mode: "DIRECT" });
    const [row] = await ledgerRows(turn.id);
    expect(row).toMatchObject({ directSessionId: sessionId, sessionId: null, roomId: null, turnMode: "direct" });
    expect(row!.creditsBurned.toFixed(4)).toBe("0.0400");
  });
});

describe("snapshots", () => {
  test("a mode switch and an agent removal during a running turn do not affect it, and apply to the next turn", async () => {
    const council = await createCouncil(harness.client, "ROUNDTABLE", [["ada", "QWEN"], ["bob", "QWEN"], ["cyd", "QWEN"]]);
    let release!: () => void;
    harness.script.hold = new Promise((resolve) => (release = resolve));
    const turnId = await sendAccepted(harness.client, council.sessionId, "Go");
    const switched = dataOf(await harness.client(SetRoomModeDocument, { input: { roomId: council.roomId, mode: "MANUAL" } })).setRoomMode;
    expect(switched.__typename).toBe("SetRoomModeSuccess");
    const removed = dataOf(await harness.client(UnassignAgentDocument, { input: { roomId: council.roomId, agentId: council.agents[2]!.id } })).unassignAgent;
    expect(removed.__typename).toBe("UnassignAgentSuccess");
    release();
    const first = await waitForTurn(harness.client, turnId);
    expect(first.mode).toBe("ROUNDTABLE");
    expect(first.steps.map((step) => step.agentKey)).toEqual(council.agents.map((agent) => agent.agentKey));
    expect(first.roster.map((entry) => entry.agentKey)).toEqual(council.agents.map((agent) => agent.agentKey));

    const next = await waitForTurn(harness.client, await sendAccepted(harness.client, council.sessionId, `@${council.agents[0]!.agentKey} and @${council.agents[2]!.agentKey}`));
    expect(next.mode).toBe("MANUAL");
    expect(next.roster.map((entry) => entry.agentKey)).toEqual([council.agents[0]!.agentKey, council.agents[1]!.agentKey]);
    expect(next.steps.map((step) => step.agentKey)).toEqual([council.agents[0]!.agentKey]);
    const turns = dataOf(await harness.client(SessionTurnsDocument, { id: council.sessionId, first: 10 })).session!.turns.edges.map((edge) => edge.node.seq);
    expect(turns).toEqual([1, 2]);
  });
});

describe("concurrency", () => {
  test("two concurrent sends in one session: one turn runs, the other gets CONFLICT", async () => {
    const council = await createCouncil(harness.client, "ROUNDTABLE", [["ada", "QWEN"]]);
    harness.script.agentDelayMs = 200;
    const results = await Promise.all([send(harness.client, council.sessionId, "one"), send(harness.client, council.sessionId, "two")]);
    expect(results.map((result) => result.__typename).sort()).toEqual(["ConflictError", "SendMessageSuccess"]);
    const accepted = results.find((result) => result.__typename === "SendMessageSuccess");
    await waitForTurn(harness.client, (accepted as { turn: { id: string } }).turn.id);
    expect(await harness.server.runtime.prisma.turn.count({ where: { sessionId: council.sessionId } })).toBe(1);
  });

  test("a turn whose owner is gone blocks its session only until its lease lapses; the next send then ends it and runs", async () => {
    const council = await createCouncil(harness.client, "ROUNDTABLE", [["ada", "QWEN"]]);
    const { prisma } = harness.server.runtime;
    const session = await prisma.session.findUniqueOrThrow({ where: { id: council.sessionId } });
    const interrupted = await prisma.turn.create({
      data: { sessionId: council.sessionId, userId: session.ownerId, seq: 1, mode: "roundtable", rosterSnapshot: [], userContent: "lost", status: "running", ownerInstance: "a-stopped-instance" },
    });
    expect((await send(harness.client, council.sessionId, "too early")).__typename).toBe("ConflictError");
    expect(await prisma.turn.count({ where: { sessionId: council.sessionId } })).toBe(1);

    await prisma.$executeRaw`UPDATE turns SET lease_expires_at = now() - interval '1 second' WHERE id = ${interrupted.id}::uuid`;
    const turn = await waitForTurn(harness.client, await sendAccepted(harness.client, council.sessionId, "after the restart"));
    expect([turn.seq, turn.status]).toEqual([2, "COMPLETED"]);
    const failed = await prisma.turn.findUniqueOrThrow({ where: { id: interrupted.id } });
    expect([failed.status, failed.error]).toEqual(["failed", INTERRUPTED_LEASE_ERROR]);
    expect(failed.completedAt).not.toBeNull();
  });

  test("concurrent turns in different sessions all complete", async () => {
    const councils = await Promise.all(Array.from({ length: 4 }, () => createCouncil(harness.client, "ROUNDTABLE", [["ada", "QWEN"], ["bob", "QWEN"]])));
    const turnIds = await Promise.all(councils.map((council) => sendAccepted(harness.client, council.sessionId, "Go")));
    const turns = await Promise.all(turnIds.map((id) => waitForTurn(harness.client, id)));
    expect(turns.map((turn) => turn.status)).toEqual(["COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED"]);
  });
});

describe("previewRouting", () => {
  async function preview(sessionId: string, content: string, runManager = false) {
    const result = dataOf(await harness.client(PreviewRoutingDocument, { input: { sessionId, content, runManager } })).previewRouting;
    if (result.__typename !== "PreviewRoutingSuccess") throw new Error(JSON.stringify(result));
    return result.decision;
  }

  test("manual and roundtable are answered from the roster with no provider call", async () => {
    const manual = await createCouncil(harness.client, "MANUAL", [["ada", "QWEN"], ["bob", "QWEN"]]);
    const [ada, bob] = manual.agents;
    const { result, calls } = await countingCalls(async () => [
      await preview(manual.sessionId, `@${bob!.agentKey} @${ada!.agentKey}`),
      await preview(manual.sessionId, "no tags"),
    ]);
    expect(calls).toBe(0);
    expect(result[0]).toMatchObject({ __typename: "RouteToAgents", mode: "MANUAL", metered: false, steps: [{ agent: { agentKey: bob!.agentKey } }, { agent: { agentKey: ada!.agentKey } }] });
    expect(result[1]).toMatchObject({ __typename: "RoutingRejected", reason: "NO_VALID_TAGS" });
  });

  test("orchestrator asks the manager only when told to, and that call is metered", async () => {
    const council = await createCouncil(harness.client, "ORCHESTRATOR", [["ada", "QWEN"]]);
    const free = await countingCalls(() => preview(council.sessionId, "Plan"));
    expect(free.calls).toBe(0);
    expect(free.result).toMatchObject({ __typename: "RoutingRequiresManager", candidates: [{ agentKey: council.agents[0]!.agentKey }] });
    const rowsBefore = await harness.server.runtime.prisma.llmCallEvent.count({ where: { sessionId: council.sessionId } });
    const metered = await countingCalls(() => preview(council.sessionId, "Plan", true));
    expect(metered.calls).toBe(1);
    expect(metered.result).toMatchObject({ __typename: "RouteToAgents", metered: true, steps: [{ agent: { agentKey: council.agents[0]!.agentKey } }] });
    const rows = await harness.server.runtime.prisma.llmCallEvent.findMany({ where: { sessionId: council.sessionId } });
    expect(rows.length - rowsBefore).toBe(1);
    expect(rows.at(-1)).toMatchObject({ callKind: "manager_route", turnId: null });
  });
});
