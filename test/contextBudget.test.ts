// Context budget math and planning (SPEC section 6), as pure functions.
import { describe, expect, test } from "vitest";
import { budgetFor } from "../src/context-budget/budget.ts";
import { estimateTokens } from "../src/llm/tokenEstimate.ts";
import { assemble, type ContextSources, type HistoryTurn } from "../src/context-budget/assembly.ts";
import { planContext } from "../src/context-budget/plan.ts";
import { truncationSummary } from "../src/context-budget/summary.ts";
import { assertFitsBudget } from "../src/turns/accept.ts";
import { ContextBudgetExceededError } from "../src/errors.ts";
import { DEFAULT_TURN_LIMITS } from "../src/turns/turnLimits.ts";
import type { SessionScope } from "../src/turns/planning.ts";

describe("budget math", () => {
  test.each([
    // limit, output reserve = min(2048, 20%), overhead = max(1024, 5%), budget = rest
    ["qwen", 40_960, 2048, 2048, 36_864],
    ["deepseek", 163_840, 2048, 8192, 153_600],
    ["unknown-model", 8192, 1638, 1024, 5530],
  ])("%s: limit %i → output %i, overhead %i, input budget %i", (alias, limit, output, overhead, budget) => {
    expect(budgetFor(alias, 2048)).toEqual({ contextLimit: limit, outputReserve: output, overheadReserve: overhead, inputBudget: budget });
  });

  test("CONTEXT_MAX_OUTPUT_TOKENS lowers the output reserve", () => {
    expect(budgetFor("qwen", 512).outputReserve).toBe(512);
  });

  test("estimator fallback is ceil(chars / 4 × 1.25)", () => {
    expect([estimateTokens(""), estimateTokens("a"), estimateTokens("abcd"), estimateTokens("x".repeat(1000))]).toEqual([0, 1, 2, 313]);
  });
});

const limits = budgetFor("unknown-model", 2048); // input budget 5530
const turn = (seq: number, chars: number): HistoryTurn => ({
  seq,
  messages: [
    { id: `u${seq}`, role: "user", agentKey: null, content: `T${seq} ` + "u".repeat(chars) },
    { id: `a${seq}`, role: "agent", agentKey: "ada", content: `A${seq} ` + "a".repeat(40) },
  ],
});
const sources = (history: HistoryTurn[], current = "current question"): ContextSources => ({
  systemLayers: ["GLOBAL LAYER", "MODE LAYER", "ROLE LAYER"],
  roomFrame: "ROOM FRAME",
  summaryBlock: null,
  history,
  unresolvedTurn: [{ id: "x", role: "agent", agentKey: "bob", content: "UNRESOLVED OUTPUT" }],
  currentMessage: current,
});
const summarizeWith = (calls: HistoryTurn[][]) => async (turns: HistoryTurn[]) => {
  calls.push(turns);
  return "SUMMARY BLOCK";
};

describe("planning a call's context", () => {
  test("assembly order: system layers, room frame, summary, raw window, unresolved turn, current message", () => {
    const messages = assemble({ ...sources([turn(1, 10)]), summaryBlock: "SUMMARY" });
    expect(messages.map((message) => message.content.slice(0, 8))).toEqual(["GLOBAL L", "ROOM FRA", "SUMMARY", "T1 uuuuu", "[@ada] A", "[@bob] U", "current "]);
  });

  test("no summary under 70% with fewer than 8 turns", async () => {
    const calls: HistoryTurn[][] = [];
    const plan = await planContext(sources([1, 2, 3, 4, 5].map((seq) => turn(seq, 100))), limits, summarizeWith(calls));
    expect(calls).toEqual([]);
    expect(plan.audit).toMatchObject({ summarized: false, pruned: false, overflow: false });
  });

  test("summary at ≥ 70% of the budget, keeping the last 4 turns raw", async () => {
    const calls: HistoryTurn[][] = [];
    // 6 turns × ~2800 chars ≈ 6 × 880 tokens ≈ 5280 ≥ 70% of 5530
    const plan = await planContext(sources([1, 2, 3, 4, 5, 6].map((seq) => turn(seq, 2800))), limits, summarizeWith(calls));
    expect(calls.map((turns) => turns.map((t) => t.seq))).toEqual([[1, 2]]);
    expect(plan.audit.summarized).toBe(true);
    expect(plan.audit.estimateAfterSummary).toBeLessThan(plan.audit.estimateBefore);
    const text = plan.messages.map((message) => message.content).join("\n");
    expect(text).toContain("SUMMARY BLOCK");
    expect(text).not.toContain("T2 u");
    expect(text).toContain("T3 u");
  });

  test("summary at the 8th turn since the last summary, even when small", async () => {
    const calls: HistoryTurn[][] = [];
    const plan = await planContext(sources([1, 2, 3, 4, 5, 6, 7, 8].map((seq) => turn(seq, 10))), limits, summarizeWith(calls));
    expect(calls.map((turns) => turns.map((t) => t.seq))).toEqual([[1, 2, 3, 4]]);
    expect(plan.audit).toMatchObject({ summarized: true, pruned: false });
    const seven: HistoryTurn[][] = [];
    await planContext(sources([1, 2, 3, 4, 5, 6, 7].map((seq) => turn(seq, 10))), limits, summarizeWith(seven));
    expect(seven).toEqual([]);
  });

  test("prune after summary when still ≥ 90%: oldest agent answers first, never pinned context", async () => {
    const calls: HistoryTurn[][] = [];
    // 4 raw turns can't be summarized; ~4 × 1300 tokens ≥ 90% of 5530
    const plan = await planContext(sources([1, 2, 3, 4, 5].map((seq) => turn(seq, 4100)), "current question"), limits, summarizeWith(calls));
    expect(plan.audit).toMatchObject({ summarized: true, pruned: true, overflow: false });
    expect(plan.audit.estimateAfterPrune).toBeLessThan(limits.inputBudget * 0.9);
    const text = plan.messages.map((message) => message.content).join("\n");
    for (const pinned of ["GLOBAL LAYER", "ROLE LAYER", "ROOM FRAME", "SUMMARY BLOCK", "UNRESOLVED OUTPUT", "current question", "T5 u"]) expect(text).toContain(pinned);
    expect(text).not.toContain("T2 u");
  });

  test("overflow when pinned context alone exceeds the budget", async () => {
    const plan = await planContext(sources([turn(1, 10)], "q".repeat(20_000)), limits, summarizeWith([]));
    expect(plan.audit.overflow).toBe(true);
    expect(plan.audit.estimateAfterPrune).toBeGreaterThan(limits.inputBudget);
  });

  test("sendMessage's pre-check rejects with CONTEXT_BUDGET_EXCEEDED and guidance", () => {
    const scope: SessionScope = { sessionId: "s", room: null, directAgentId: "a", mode: "direct", roster: [], turnLimits: DEFAULT_TURN_LIMITS };
    const agent = { agentId: "a", agentKey: "ada", name: "Ada", modelAlias: "qwen" as const, rolePrompt: "", toolPermissions: [], position: 0 };
    const attempt = () => assertFitsBudget(scope, [agent], "w".repeat(130_000), 2048);
    expect(attempt).toThrow(ContextBudgetExceededError);
    expect(attempt).toThrow(/accepts 36864.*Shorten the message/);
  });

  test("summarizer failure fallback: deterministic truncation keeping the first and latest requests as anchors", () => {
    const turns = [1, 2, 3].map((seq) => turn(seq, 1000));
    const summary = truncationSummary(turns);
    expect(summary).toEqual(truncationSummary(turns));
    expect(summary.summary_text).toContain("First request (turn 1): T1 u");
    expect(summary.summary_text).toContain("Latest summarized request (turn 3): T3 u");
    expect(summary.summary_text).toContain("turn 2: T2 u");
  });
});
