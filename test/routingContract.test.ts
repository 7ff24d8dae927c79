// The routing contract never guesses: every malformed manager output is rejected with issues.
import { describe, expect, test } from "vitest";
import { validateRoutingOutput } from "../src/turns/routingContract.ts";

const KEYS = ["ada", "grace", "linus"];
const step = (agentKey: string) => ({ agentKey, instruction: "go" });

describe("routing contract", () => {
  test.each([
    ["comma-separated names", "ada, grace"],
    ["prose", "I think ada should answer first, then grace."],
    ["fenced JSON", '```json\n{"steps":[{"agentKey":"ada","instruction":"go"}],"rationale":"r"}\n```'],
    ["an unknown agent key", JSON.stringify({ steps: [step("bob")], rationale: "r" })],
    ["an unknown top-level key", JSON.stringify({ steps: [step("ada")], rationale: "r", confidence: 1 })],
    ["an unknown step key", JSON.stringify({ steps: [{ ...step("ada"), priority: 1 }], rationale: "r" })],
    ["one agent over its cap of 3", JSON.stringify({ steps: [step("ada"), step("ada"), step("ada"), step("ada")], rationale: "r" })],
    ["over the cap of 12 per turn", JSON.stringify({ steps: Array.from({ length: 13 }, (_, i) => step(KEYS[i % 3]!)), rationale: "r" })],
    ["no steps", JSON.stringify({ steps: [], rationale: "r" })],
    ["a bare array", JSON.stringify([step("ada")])],
  ])("rejects %s", (_name, output) => {
    const result = validateRoutingOutput(output, KEYS);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.issues.length).toBeGreaterThan(0);
  });

  test("accepts a valid plan with repeats within the caps, in the given order", () => {
    const output = JSON.stringify({ steps: [step("grace"), step("ada"), step("grace")], rationale: "grace twice" });
    const result = validateRoutingOutput(output, KEYS);
    expect(result.ok && result.plan.steps.map((s) => s.agentKey)).toEqual(["grace", "ada", "grace"]);
  });
});
