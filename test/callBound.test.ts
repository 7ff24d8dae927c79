// A call's bound (SPEC 14) for a few fixed requests, against numbers worked
// out by hand from docs/credits.md: input ≤ UTF-8 bytes + 8 per message +
// the family's per-request overhead (+ schema bytes + 64 when structured),
// at most the window; output ≤ max_tokens; priced like a ledger row:
// (input × 0.35 + output) / 10,000 × multiplier, rounded half up to 4 places.
import { describe, expect, test } from "vitest";
import { callBound, largestOutputWithin } from "../src/metering/callBound.ts";
import { CALL_KINDS, outputCapOf, outputFloorOf } from "../src/metering/callKinds.ts";
import { creditUnits } from "../src/metering/creditUnits.ts";
import type { ChatMessage } from "../src/llm/types.ts";

const HELLO: ChatMessage[] = [
  { role: "system", content: "You are a helpful agent." }, // 24 bytes
  { role: "user", content: "Hello, world" }, // 12 bytes
];

describe("callBound", () => {
  test.each([
    // 16 + (24 + 8) + (12 + 8) = 68 input; 68 × 0.35 + 2048 = 2071.8 OE
    { alias: "qwen", input: 68, credits: "0.1036" }, // × 0.5 / 10,000 = 0.10359
    { alias: "deepseek", input: 68, credits: "0.2072" }, // × 1 / 10,000 = 0.20718
    { alias: "premium", input: 68, credits: "2.9005" }, // × 14 / 10,000 = 2.90052
    // gpt-oss's harmony preamble: 128 per request. 180 × 0.35 + 2048 = 2111 OE × 0.5 / 10,000 = 0.10555
    { alias: "gpt_oss", input: 180, credits: "0.1056" },
  ] as const)("$alias: $input input tokens, 2048 output, $credits credits", ({ alias, input, credits }) => {
    expect(callBound({ modelAlias: alias, messages: HELLO, maxOutputTokens: 2048 })).toEqual({ inputTokens: input, outputTokens: 2048, credits: creditUnits(credits) });
  });

  test("bytes, not characters: é is 2 bytes, 👋 is 4", () => {
    // 16 + ("héllo 👋" = 1 + 2 + 3 + 1 + 4 = 11 bytes, + 8) = 35; 35 × 0.35 + 100 = 112.25 OE × 0.5 / 10,000 = 0.0056125
    expect(callBound({ modelAlias: "qwen", messages: [{ role: "user", content: "héllo 👋" }], maxOutputTokens: 100 })).toEqual({
      inputTokens: 35,
      outputTokens: 100,
      credits: creditUnits("0.0056"),
    });
  });

  test("a structured request counts its schema and the instruction around it", () => {
    // 16 + (12 + 8) + ({"type":"object"} = 17 bytes + 64) = 117; 117 × 0.35 + 1024 = 1064.95 OE × 1 / 10,000 = 0.106495
    const bound = callBound({ modelAlias: "deepseek", messages: [HELLO[1]!], structured: { name: "x", schema: { type: "object" } }, maxOutputTokens: 1024 });
    expect(bound).toEqual({ inputTokens: 117, outputTokens: 1024, credits: creditUnits("0.1065") });
  });

  test("no provider reads more than the window: qwen's input is at most 40,960 tokens", () => {
    // 40,960 × 0.35 + 2048 = 16,384 OE × 0.5 / 10,000 = 0.8192
    const bound = callBound({ modelAlias: "qwen", messages: [{ role: "user", content: "x".repeat(100_000) }], maxOutputTokens: 2048 });
    expect(bound).toEqual({ inputTokens: 40_960, outputTokens: 2048, credits: creditUnits("0.8192") });
  });
});

describe("spending to the last credit", () => {
  test("the largest output whose bound fits, rounding included", () => {
    // qwen, 68 input (23.8 OE): 0.05 credits = 1000 OE; 977 output → 1000.8 OE × 0.00005 = 0.05004 → 0.0500 fits; 978 → 0.05009 → 0.0501 does not.
    expect(largestOutputWithin("qwen", 68, creditUnits("0.05"), 2048)).toBe(977);
    expect(largestOutputWithin("qwen", 68, creditUnits("1"), 2048)).toBe(2048);
    // Not even the input fits: 68 × 0.35 × 0.00005 = 0.00119 → 0.0012 > 0.001.
    expect(largestOutputWithin("qwen", 68, creditUnits("0.001"), 2048)).toBe(0);
  });

  test("each kind's output cap and floor (CONTEXT_MAX_OUTPUT_TOKENS 2048, MIN_OUTPUT_TOKENS 256)", () => {
    const limits = { contextMaxOutputTokens: 2048, minOutputTokens: 256 };
    const table = Object.keys(CALL_KINDS).map((kind) => [kind, outputCapOf(kind as keyof typeof CALL_KINDS, "qwen", limits), outputFloorOf(kind as keyof typeof CALL_KINDS, "qwen", limits)]);
    expect(table).toEqual([
      ["agent", 2048, 256],
      ["summary", 1024, 1024],
      ["manager_route", 1024, 1024],
      ["repair", 1024, 1024],
      // A structured decision cut short is invalid: never lowered.
      ["manager_continue", 1024, 1024],
      ["synthesis", 2048, 256],
    ]);
  });
});
