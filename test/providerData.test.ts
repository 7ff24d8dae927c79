// (d) of the fault tests: provider data no column can hold never costs a
// ledger row. Text is made storable (NUL and lone surrogates become U+FFFD),
// counts and costs beyond the contract's columns are clamped and flagged
// with the report kept verbatim, an over-long request id is kept as its digest.
import { createHash } from "node:crypto";
import { expect, test } from "vitest";
import { useCouncilServer } from "./support/councilServer.ts";
import { callPurpose, REFERENCE_USAGE } from "./support/councilProvider.ts";
import { createCouncil, sendAccepted, waitForTurn } from "./fixtures/turns.ts";
import { MAX_TOKEN_COLUMN } from "../src/metering/recordedUsage.ts";

const harness = useCouncilServer("provider_data");

const ABSURD_USAGE = { prompt_tokens: 3_000_000_000, cached_tokens: 5_000_000_000, completion_tokens: 1e12, cost: 1e15 };

test("NUL text, lone surrogates and absurd usage: the turn completes, the row is recorded, clamped and flagged, the report kept", async () => {
  const council = await createCouncil(harness.client, "ROUNDTABLE", [["ada", "QWEN"]]);
  harness.fake.setHandler(() => ({ kind: "stream", content: "Hello\u0000world \uD800 end", usage: ABSURD_USAGE }));
  const turn = await waitForTurn(harness.client, await sendAccepted(harness.client, council.sessionId, "Go"));
  expect(turn.status).toBe("COMPLETED");
  expect(turn.steps[0]!.output).toBe("Hello\uFFFDworld \uFFFD end");

  const [row] = await harness.server.runtime.prisma.llmCallEvent.findMany({ where: { turnId: turn.id } });
  expect(row).toMatchObject({
    status: "success",
    inputTokensCached: MAX_TOKEN_COLUMN,
    inputTokensFresh: 0,
    outputTokens: MAX_TOKEN_COLUMN,
    totalTokens: MAX_TOKEN_COLUMN,
    usageOutOfRange: true,
    reportedUsage: { promptTokens: 3_000_000_000, cachedTokens: 5_000_000_000, completionTokens: 1e12, totalTokens: 3_000_000_000 + 1e12, costUsd: "1000000000000000.00000000" },
  });
  expect(row!.providerCostUsd.toFixed(8)).toBe("999999999999.99999999");
  // Credits follow the stored columns: OE = 0×0.35 + 2147483647×0.10 + 2147483647 = 2362232011.7; × 0.5 / 10000.
  expect(row!.creditsBurned.toFixed(4)).toBe("118111.6006");
});

test("an orchestrator's routing, round decision and synthesis with NUL escapes in their JSON and text are stored, not lost", async () => {
  const council = await createCouncil(harness.client, "ORCHESTRATOR", [["ada", "QWEN"]]);
  const agentKey = council.agents[0]!.agentKey;
  harness.fake.setHandler((call) => {
    const purpose = callPurpose(call);
    if (purpose === "routing") return { kind: "stream", content: JSON.stringify({ steps: [{ agentKey, instruction: "say\u0000hi" }], rationale: "because\u0000" }), usage: REFERENCE_USAGE };
    if (purpose === "round") return { kind: "stream", content: JSON.stringify({ decision: "stop", steps: [], rationale: "enough\u0000" }), usage: REFERENCE_USAGE };
    return { kind: "stream", content: `${purpose}\u0000done`, usage: REFERENCE_USAGE };
  });
  const turn = await waitForTurn(harness.client, await sendAccepted(harness.client, council.sessionId, "Go"));
  expect(turn.status).toBe("COMPLETED");
  expect(turn.steps.map((step) => step.output)).toEqual(["because\uFFFD", "agent\uFFFDdone", "enough\uFFFD", "synthesis\uFFFDdone"]);
  expect(await harness.server.runtime.prisma.llmCallEvent.count({ where: { turnId: turn.id } })).toBe(4);
});

test("a provider request id longer than the column is recorded as its digest, still unique per call", async () => {
  const council = await createCouncil(harness.client, "ROUNDTABLE", [["ada", "QWEN"]]);
  const longId = `gen-${"x".repeat(300)}`;
  harness.fake.setHandler(() => ({ kind: "stream", content: "ok", usage: REFERENCE_USAGE, id: longId }));
  const turn = await waitForTurn(harness.client, await sendAccepted(harness.client, council.sessionId, "Go"));
  expect(turn.status).toBe("COMPLETED");
  const [row] = await harness.server.runtime.prisma.llmCallEvent.findMany({ where: { turnId: turn.id } });
  expect(row!.requestId).toBe(`sha256:${createHash("sha256").update(longId).digest("hex")}`);
});
