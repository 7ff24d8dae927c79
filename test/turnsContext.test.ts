// The context budget inside real turns over HTTP: summaries at 70% and at the
// 8th turn (metered, stored, injected), pruning after the summary, overflow
// mid-turn, summarizer fallback, one audit row per agent call.
import { describe, expect, test } from "vitest";
import { agentKeyOf, callPurpose } from "./support/councilProvider.ts";
import { useCouncilServer } from "./support/councilServer.ts";
import { createAgent, createCouncil, createSession, sendAccepted, waitForTurn } from "./fixtures/turns.ts";

const harness = useCouncilServer("context");

const prisma = () => harness.server.runtime.prisma;

async function converse(sessionId: string, messages: string[]) {
  const turns = [];
  for (const content of messages) turns.push(await waitForTurn(harness.client, await sendAccepted(harness.client, sessionId, content)));
  return turns;
}

const auditOf = (turnId: string) => prisma().turnContextAudit.findFirstOrThrow({ where: { turnId } });

describe("summaries", () => {
  test("at the 8th turn since the last summary: turns 1–4 summarized by a metered call, the last 4 kept raw", async () => {
    const agent = await createAgent(harness.client, "eight_turns", "QWEN");
    const sessionId = await createSession(harness.client, { agentId: agent.id });
    const turns = await converse(sessionId, Array.from({ length: 9 }, (_, index) => `message ${index + 1}`));
    const audits = await Promise.all(turns.map((turn) => auditOf(turn.id)));
    expect(audits.map((audit) => audit.summarized)).toEqual([false, false, false, false, false, false, false, false, true]);
    const [summary] = await prisma().sessionSummary.findMany({ where: { sessionId } });
    expect(summary).toMatchObject({ throughTurnSeq: 4, source: "model", summaryText: "They discussed the plan.", turnId: turns[8]!.id });
    const rows = await prisma().llmCallEvent.findMany({ where: { turnId: turns[8]!.id }, orderBy: { createdAt: "asc" } });
    expect(rows.map((row) => row.callKind)).toEqual(["summary", "agent"]);
    expect(rows[0]).toMatchObject({ directSessionId: sessionId, stepId: turns[8]!.steps[0]!.id });
    const agentCall = harness.fake.calls.at(-1)!.body.messages.map((message) => message.content).join("\n");
    expect(agentCall).toContain("Summary of the earlier conversation:\nThey discussed the plan.");
    expect(agentCall).not.toContain("message 4");
    expect(agentCall).toContain("message 5");
    expect(turns[8]!.messages.map((message) => message.role)).toEqual(["USER", "SUMMARY", "AGENT"]);
  });

  test("at 70% of the budget, then pruning when still at 90%; pinned context is kept", async () => {
    const agent = await createAgent(harness.client, "big_history", "QWEN"); // input budget 36,864
    const sessionId = await createSession(harness.client, { agentId: agent.id });
    const big = (marker: string, chars: number) => `${marker} ` + "x".repeat(chars);
    // Five turns of 6,250 tokens each, then a 9,375-token message: 70% reached with 5 summarizable turns.
    const turns = await converse(sessionId, [big("TURN-1", 20_000), big("TURN-2", 20_000), big("TURN-3", 20_000), big("TURN-4", 20_000), big("TURN-5", 20_000), big("TURN-6", 30_000)]);
    const audit = await auditOf(turns[5]!.id);
    expect(audit).toMatchObject({ contextLimit: 40_960, inputBudget: 36_864, summarized: true, pruned: true, overflow: false });
    expect(audit.estimateBefore).toBeGreaterThanOrEqual(36_864 * 0.7);
    expect(audit.estimateAfterSummary).toBeGreaterThanOrEqual(36_864 * 0.9);
    expect(audit.estimateAfterPrune).toBeLessThan(36_864 * 0.9);
    expect(await prisma().sessionSummary.findFirst({ where: { sessionId } })).toMatchObject({ throughTurnSeq: 1 });
    const sent = harness.fake.calls.at(-1)!.body.messages.map((message) => message.content).join("\n");
    expect(sent).toContain("You are Agent big_history"); // system layers
    expect(sent).toContain("Summary of the earlier conversation");
    expect(sent).toContain("TURN-6"); // current message
    expect(sent).toContain("TURN-5");
    expect(sent).not.toContain("TURN-1");
    expect(sent).not.toContain("TURN-2");
    expect((await auditOf(turns[4]!.id)).summarized).toBe(false); // only 4 earlier turns: nothing eligible
  });

  test("a summarizer output that breaks the contract falls back to truncation with anchors, still metered", async () => {
    const agent = await createAgent(harness.client, "bad_summary", "QWEN");
    const sessionId = await createSession(harness.client, { agentId: agent.id });
    harness.script.summaryOutput = "Here is a summary in prose, not JSON.";
    const before = harness.fake.calls.length;
    const turns = await converse(sessionId, Array.from({ length: 9 }, (_, index) => `request ${index + 1}`));
    const summary = await prisma().sessionSummary.findFirstOrThrow({ where: { sessionId } });
    expect(summary.source).toBe("truncation");
    expect(summary.summaryText).toContain("First request (turn 1): request 1");
    expect(summary.summaryText).toContain("Latest summarized request (turn 4): request 4");
    const rows = await prisma().llmCallEvent.count({ where: { turnId: { in: turns.map((turn) => turn.id) } } });
    expect(rows).toBe(harness.fake.calls.length - before);
    expect(harness.fake.calls.slice(before).filter((call) => callPurpose(call) === "summary")).toHaveLength(1);
  });
});

describe("overflow", () => {
  test("a later agent whose context cannot fit fails with guidance and no provider call; the turn is PARTIAL", async () => {
    const council = await createCouncil(harness.client, "ROUNDTABLE", [["long", "LLAMA"], ["short", "QWEN"]]);
    const [long, short] = council.agents;
    harness.script.outputs.set(long!.agentKey, "y".repeat(130_000)); // ≈ 40,625 tokens > qwen's 36,864
    const before = harness.fake.calls.length;
    const turn = await waitForTurn(harness.client, await sendAccepted(harness.client, council.sessionId, "Write a lot"));
    expect(turn.status).toBe("PARTIAL");
    expect(turn.steps[1]).toMatchObject({ agentKey: short!.agentKey, status: "FAILED" });
    expect(turn.steps[1]!.error).toMatch(/accepts 36864/);
    expect(harness.fake.calls.slice(before).map(agentKeyOf)).toEqual([long!.agentKey]);
    const audits = await prisma().turnContextAudit.findMany({ where: { turnId: turn.id }, orderBy: { createdAt: "asc" } });
    expect(audits.map((audit) => audit.overflow)).toEqual([false, true]);
    expect(await prisma().llmCallEvent.count({ where: { turnId: turn.id } })).toBe(1);
  });
});
