// The local provider: deterministic and network-free, so the product runs and
// is testable offline. Same request, same text; usage is estimated with the
// context-budget estimator; structured requests get schema-valid JSON derived
// from the conversation (routing picks agents named in the message).
import { setTimeout as wait } from "node:timers/promises";
import { randomUUID, createHash } from "node:crypto";
import { MODEL_REGISTRY } from "./models.ts";
import { estimateTokens } from "./tokenEstimate.ts";
import type { LlmProvider, LlmRequest, ProviderAttempt } from "./types.ts";
import { localRoundDecision, localRoutingDecision, localSummary } from "./localStructured.ts";

const CHUNKS_PER_REPLY = 3;

export interface LocalProviderOptions {
  /** Simulated provider time per call, in milliseconds. */
  delayMs: number;
  /** A pause before each streamed word (0: the reply arrives in a few chunks at once). */
  streamMs?: number;
}

export class LocalProvider implements LlmProvider {
  readonly name = "local" as const;

  constructor(private readonly options: LocalProviderOptions = { delayMs: 0, streamMs: 0 }) {}

  async call(request: LlmRequest): Promise<ProviderAttempt> {
    const started = performance.now();
    const { signal } = request;
    if (this.options.delayMs > 0) await pause(this.options.delayMs, signal);
    const streamMs = this.options.streamMs ?? 0;
    const reply = withinMaxTokens(replyFor(request, streamMs > 0), request.maxOutputTokens);
    let text = "";
    for (const chunk of streamMs > 0 ? wordsOf(reply) : chunksOf(reply)) {
      if (streamMs > 0) await pause(streamMs, signal);
      if (signal?.aborted) break;
      text += chunk;
      request.onDelta?.(chunk);
    }
    const stopped = signal?.aborted === true;
    const promptTokens = estimateTokens(request.messages.map((message) => message.content).join("\n"));
    const completionTokens = estimateTokens(text);
    return {
      provider: this.name,
      modelAlias: request.modelAlias,
      providerModel: MODEL_REGISTRY[request.modelAlias].providerModel,
      callKind: request.callKind,
      status: stopped ? "cancelled" : "success",
      text,
      usage: { promptTokens, cachedTokens: undefined, completionTokens, totalTokens: promptTokens + completionTokens, costUsd: "0" },
      requestId: `local-${randomUUID()}`,
      latencyMs: Math.round(performance.now() - started),
      errorMessage: stopped ? "the call was stopped before it finished" : null,
      retryable: false,
      retryAfterSeconds: null,
    };
  }
}

/** Waits `ms`, or less when `signal` aborts meanwhile. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return wait(ms, undefined, { signal }).catch(() => undefined);
}

/** What a streamed answer goes on with, so that watching it stream takes a few seconds per agent. */
const STREAMED_BODY =
  "First, name the one outcome that matters most and the people it matters to. Second, list what must be true for it, and test the riskiest of those first, cheaply. Third, decide what you will not do, so the plan stays small enough to finish. Last, agree how you will know it worked, and when you will look again.";

function replyFor(request: LlmRequest, streamed: boolean): string {
  if (request.structured?.name === "routing_decision") return JSON.stringify(localRoutingDecision(request));
  if (request.structured?.name === "session_summary") return JSON.stringify(localSummary(request));
  if (request.structured?.name === "round_decision") return JSON.stringify(localRoundDecision());
  const lastUser = [...request.messages].reverse().find((message) => message.role === "user")?.content ?? "";
  const digest = createHash("sha256").update(JSON.stringify(request.messages)).digest("hex").slice(0, 8);
  const reply = `[${request.modelAlias} ${digest}] On "${lastUser.slice(0, 80)}": here is my considered answer.`;
  return streamed ? `${reply} ${STREAMED_BODY}` : reply;
}

/** As a provider stops at max_tokens: the reply cut to the most characters the estimator counts within it. */
function withinMaxTokens(text: string, maxOutputTokens: number): string {
  let end = Math.min(text.length, Math.floor((Math.max(0, maxOutputTokens) * 16) / 5));
  while (end > 0 && estimateTokens(text.slice(0, end)) > maxOutputTokens) end--;
  return text.slice(0, end);
}

/** Each word with the space after it, as a model streams. */
function wordsOf(text: string): string[] {
  return text.match(/\S+\s*/g) ?? [];
}

function chunksOf(text: string): string[] {
  const size = Math.ceil(text.length / CHUNKS_PER_REPLY) || 1;
  const chunks: string[] = [];
  for (let index = 0; index < text.length; index += size) chunks.push(text.slice(index, index + size));
  return chunks;
}
