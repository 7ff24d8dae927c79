// The OpenRouter client and the gateway against a loopback server speaking the
// real protocol; the local provider's determinism and structured answers.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startFakeOpenRouter, type FakeOpenRouter, type FakeReply } from "./support/fakeOpenRouter.ts";
import { OpenRouterProvider } from "../src/llm/openrouter.ts";
import { LocalProvider } from "../src/llm/local.ts";
import { LlmGateway } from "../src/llm/gateway.ts";
import type { LlmRequest, ProviderAttempt } from "../src/llm/types.ts";
import { routingJsonSchema, validateRoutingOutput } from "../src/turns/routingContract.ts";

const API_KEY = "sk-or-test-not-a-real-key";
let fake: FakeOpenRouter;

beforeAll(async () => {
  fake = await startFakeOpenRouter(() => ({ kind: "stream", content: "unused", usage: { prompt_tokens: 1, completion_tokens: 1 } }));
});
afterAll(() => fake.close());

function provider(timeoutMs = 2_000) {
  return new OpenRouterProvider({ apiKey: API_KEY, baseUrl: fake.baseUrl, timeoutMs });
}

function request(deltas: string[] = []): LlmRequest {
  return {
    modelAlias: "deepseek",
    callKind: "agent",
    maxOutputTokens: 256,
    messages: [{ role: "user", content: "Hello council" }],
    onDelta: (chunk) => deltas.push(chunk),
  };
}

function replies(...sequence: FakeReply[]) {
  const start = fake.calls.length;
  fake.setHandler((call) => sequence[Math.min(call.index - start, sequence.length - 1)]!);
}

describe("OpenRouter provider", () => {
  test("streams chunks, reads usage with cached tokens and cost, and sends the key only as a Bearer header", async () => {
    replies({ kind: "stream", id: "gen-abc", content: "The council agrees on a plan.", usage: { prompt_tokens: 120, completion_tokens: 8, cached_tokens: 100, cost: 0.00123 } });
    const deltas: string[] = [];
    const attempt = await provider().call(request(deltas));
    expect(attempt).toMatchObject({ status: "success", text: "The council agrees on a plan.", requestId: "gen-abc", providerModel: "deepseek/deepseek-v3.1-terminus" });
    expect(attempt.usage).toEqual({ promptTokens: 120, cachedTokens: 100, completionTokens: 8, totalTokens: 128, costUsd: "0.00123000" });
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join("")).toBe(attempt.text);
    const sent = fake.calls.at(-1)!;
    expect(sent.authorization).toBe(`Bearer ${API_KEY}`);
    expect(sent.body).toMatchObject({ model: "deepseek/deepseek-v3.1-terminus", stream: true });
  });

  test("a usage block without cached tokens reports none (the ledger then counts all input as fresh)", async () => {
    replies({ kind: "stream", content: "ok", usage: { prompt_tokens: 50, completion_tokens: 2 } });
    const attempt = await provider().call(request());
    expect(attempt.usage.cachedTokens).toBeUndefined();
    expect(attempt.usage.costUsd).toBeUndefined();
  });

  test("a whole JSON completion (non-streamed answer) is accepted", async () => {
    replies({ kind: "json", id: "gen-json", content: "whole", usage: { prompt_tokens: 5, completion_tokens: 1 } });
    expect(await provider().call(request())).toMatchObject({ status: "success", text: "whole", requestId: "gen-json" });
  });

  test("structured requests carry a json_schema response_format", async () => {
    replies({ kind: "stream", content: "{}", usage: { prompt_tokens: 5, completion_tokens: 1 } });
    await provider().call({ ...request(), structured: { name: "routing_decision", schema: routingJsonSchema(["ada"]) } });
    expect(fake.calls.at(-1)!.body.response_format).toMatchObject({ type: "json_schema", json_schema: { name: "routing_decision" } });
  });

  test.each([
    ["malformed JSON in a chunk", { kind: "raw", contentType: "text/event-stream", body: "data: {not json\n\n" }, "invalid_response"],
    ["a chunk that is not the protocol", { kind: "raw", contentType: "text/event-stream", body: 'data: {"choices": "x"}\n\n' }, "invalid_response"],
    ["a malformed JSON body", { kind: "raw", contentType: "application/json", body: "{oops" }, "invalid_response"],
    ["HTTP 429", { kind: "status", status: 429 }, "rate_limited"],
    ["HTTP 503", { kind: "status", status: 503 }, "error"],
    ["HTTP 400", { kind: "status", status: 400 }, "error"],
  ] as [string, FakeReply, ProviderAttempt["status"]][])("%s maps to status %s", async (_name, reply, status) => {
    replies(reply);
    const attempt = await provider().call(request());
    expect(attempt.status).toBe(status);
    expect(attempt.errorMessage).not.toContain(API_KEY);
  });

  test("a provider that does not answer in time is a timeout, not retried", async () => {
    replies({ kind: "hang" });
    const before = fake.calls.length;
    const gateway = new LlmGateway(provider(150), { maxRetries: 2, backoffBaseMs: 1 });
    const retried: ProviderAttempt[] = [];
    const attempt = await gateway.call(request(), { recordRetried: async (failed) => void retried.push(failed) });
    expect(attempt.status).toBe("timeout");
    expect(retried).toEqual([]);
    expect(fake.calls.length - before).toBe(1);
  });
});

describe("gateway retries", () => {
  test("429 then success: two provider calls, the rate-limited one handed over for its own ledger row", async () => {
    replies({ kind: "status", status: 429, headers: { "retry-after": "0" } }, { kind: "stream", content: "second time lucky", usage: { prompt_tokens: 10, completion_tokens: 3 } });
    const before = fake.calls.length;
    const retried: ProviderAttempt[] = [];
    const attempt = await new LlmGateway(provider(), { maxRetries: 2, backoffBaseMs: 1 }).call(request(), { recordRetried: async (failed) => void retried.push(failed) });
    expect(fake.calls.length - before).toBe(2);
    expect(retried.map((failed) => failed.status)).toEqual(["rate_limited"]);
    expect(attempt).toMatchObject({ status: "success", text: "second time lucky" });
  });

  test("retries are bounded: 5xx on every attempt gives maxRetries + 1 calls", async () => {
    replies({ kind: "status", status: 502 });
    const before = fake.calls.length;
    const retried: ProviderAttempt[] = [];
    const attempt = await new LlmGateway(provider(), { maxRetries: 2, backoffBaseMs: 1 }).call(request(), { recordRetried: async (failed) => void retried.push(failed) });
    expect(fake.calls.length - before).toBe(3);
    expect(retried).toHaveLength(2);
    expect(attempt.status).toBe("error");
  });

  test("an unreachable provider is a network error, retried", async () => {
    const closed = await startFakeOpenRouter(() => ({ kind: "hang" }));
    await closed.close();
    const unreachable = new OpenRouterProvider({ apiKey: API_KEY, baseUrl: closed.baseUrl, timeoutMs: 1_000 });
    const retried: ProviderAttempt[] = [];
    const attempt = await new LlmGateway(unreachable, { maxRetries: 1, backoffBaseMs: 1 }).call(request(), { recordRetried: async (failed) => void retried.push(failed) });
    expect(retried.map((failed) => failed.status)).toEqual(["error"]);
    expect(attempt).toMatchObject({ status: "error", errorMessage: "the provider could not be reached" });
  });
});

describe("local provider", () => {
  test("is deterministic for the same request and reports estimated usage", async () => {
    const local = new LocalProvider();
    const [first, second] = [await local.call(request()), await local.call(request())];
    expect(first.text).toBe(second.text);
    expect(first.requestId).not.toBe(second.requestId);
    expect(first.usage.promptTokens).toBe(Math.ceil(("Hello council".length / 4) * 1.25));
  });

  test("answers routing with a decision that passes the routing contract, naming the agents the message mentions", async () => {
    const keys = ["ada", "grace", "linus"];
    const attempt = await new LocalProvider().call({
      ...request(),
      messages: [{ role: "user", content: "linus, then ada: review this" }],
      structured: { name: "routing_decision", schema: routingJsonSchema(keys) },
    });
    const validation = validateRoutingOutput(attempt.text, keys);
    expect(validation.ok && validation.plan.steps.map((step) => step.agentKey)).toEqual(["linus", "ada"]);
  });
});
