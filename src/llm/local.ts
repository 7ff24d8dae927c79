// The local provider: deterministic and network-free, so the product runs and
// is testable offline. Same request, same text; usage is estimated with the
// context-budget estimator; structured requests get schema-valid JSON derived
// from the conversation (routing picks agents named in the message).
import { randomUUID, createHash } from "node:crypto";
import { MODEL_REGISTRY } from "./models.ts";
import { estimateTokens } from "./tokenEstimate.ts";
import type { LlmProvider, LlmRequest, ProviderAttempt } from "./types.ts";
import { localRoutingDecision, localSummary } from "./localStructured.ts";

const CHUNKS_PER_REPLY = 3;

export interface LocalProviderOptions {
  /** Simulated provider time per call, in milliseconds. */
  delayMs: number;
}

export class LocalProvider implements LlmProvider {
  readonly name = "local" as const;

  constructor(private readonly options: LocalProviderOptions = { delayMs: 0 }) {}

  async call(request: LlmRequest): Promise<ProviderAttempt> {
    const started = performance.now();
    if (this.options.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.options.delayMs));
    const text = withinMaxTokens(replyFor(request), request.maxOutputTokens);
    for (const chunk of chunksOf(text)) request.onDelta?.(chunk);
    const promptTokens = estimateTokens(request.messages.map((message) => message.content).join("\n"));
    const completionTokens = estimateTokens(text);
    return {
      provider: this.name,
      modelAlias: request.modelAlias,
      providerModel: MODEL_REGISTRY[request.modelAlias].providerModel,
      callKind: request.callKind,
      status: "success",
      text,
      usage: { promptTokens, cachedTokens: undefined, completionTokens, totalTokens: promptTokens + completionTokens, costUsd: "0" },
      requestId: `local-${randomUUID()}`,
      latencyMs: Math.round(performance.now() - started),
      errorMessage: null,
      retryable: false,
      retryAfterSeconds: null,
    };
  }
}

function replyFor(request: LlmRequest): string {
  if (request.structured?.name === "routing_decision") return JSON.stringify(localRoutingDecision(request));
  if (request.structured?.name === "session_summary") return JSON.stringify(localSummary(request));
  const lastUser = [...request.messages].reverse().find((message) => message.role === "user")?.content ?? "";
  const digest = createHash("sha256").update(JSON.stringify(request.messages)).digest("hex").slice(0, 8);
  return `[${request.modelAlias} ${digest}] On "${lastUser.slice(0, 80)}": here is my considered answer.`;
}

/** As a provider stops at max_tokens: the reply cut to the most characters the estimator counts within it. */
function withinMaxTokens(text: string, maxOutputTokens: number): string {
  let end = Math.min(text.length, Math.floor((Math.max(0, maxOutputTokens) * 16) / 5));
  while (end > 0 && estimateTokens(text.slice(0, end)) > maxOutputTokens) end--;
  return text.slice(0, end);
}

function chunksOf(text: string): string[] {
  const size = Math.ceil(text.length / CHUNKS_PER_REPLY) || 1;
  const chunks: string[] = [];
  for (let index = 0; index < text.length; index += size) chunks.push(text.slice(index, index + size));
  return chunks;
}
