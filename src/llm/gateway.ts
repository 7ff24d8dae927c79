// The one path every LLM call takes. It picks the configured provider and
// retries 429 / 5xx / network failures with bounded exponential backoff.
// Every attempt is a separate provider call: before it starts, the caller's
// `beforeAttempt` may hold its bound and adjust the request (or throw, and no
// call is made); after it, each is handed on (retried ones to
// `recordRetried` as they fail, the last one to the caller), so each gets its
// own ledger row.
import type { AppConfig } from "../config/env.ts";
import { setTimeout as wait } from "node:timers/promises";
import { LocalProvider } from "./local.ts";
import { OpenRouterProvider } from "./openrouter.ts";
import type { LlmProvider, LlmRequest, ProviderAttempt } from "./types.ts";
import { storableText } from "../db/storableText.ts";
import { estimateTokens } from "./tokenEstimate.ts";
import type { Metrics } from "../observability/metrics.ts";
import { providerCallSpan } from "../observability/spans.ts";

const DEFAULT_BACKOFF_BASE_MS = 250;
const MAX_BACKOFF_MS = 10_000;

export interface GatewayOptions {
  maxRetries: number;
  backoffBaseMs?: number;
  /** Sees every provider call (metrics). */
  observe?: (attempt: ProviderAttempt) => void;
}

export interface AttemptHooks {
  /** Before each attempt (the first and every retry): the request to send, or a throw to make no call. */
  beforeAttempt?(request: LlmRequest): Promise<LlmRequest>;
  /** A failed attempt that will be retried, before the retry starts (its ledger row). */
  recordRetried(attempt: ProviderAttempt): Promise<void>;
}

export class LlmGateway {
  private readonly backoffBaseMs: number;

  constructor(
    readonly provider: LlmProvider,
    private readonly options: GatewayOptions,
  ) {
    this.backoffBaseMs = options.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS;
  }

  /** Returns the last attempt; earlier (retried) attempts went to `recordRetried`. `maxRetries` 0: exactly one provider call. */
  async call(request: LlmRequest, hooks: AttemptHooks, maxRetries = this.options.maxRetries): Promise<ProviderAttempt> {
    for (let attemptNumber = 0; ; attemptNumber++) {
      const sent = hooks.beforeAttempt ? await hooks.beforeAttempt(request) : request;
      const attempt = usedSoFar(sent, storableAttempt(await providerCallSpan(sent, this.provider.name, () => this.provider.call(sent))));
      this.options.observe?.(attempt);
      if (!attempt.retryable || attemptNumber >= maxRetries) return attempt;
      await hooks.recordRetried(attempt);
      // A turn stopped during the wait ends it: the next beforeAttempt refuses the retry.
      await sleep(this.backoffMs(attemptNumber, attempt.retryAfterSeconds), sent.signal);
    }
  }

  private backoffMs(attemptNumber: number, retryAfterSeconds: number | null): number {
    if (retryAfterSeconds !== null) return Math.min(retryAfterSeconds * 1000, MAX_BACKOFF_MS);
    const exponential = this.backoffBaseMs * 2 ** attemptNumber;
    return Math.min(exponential / 2 + Math.random() * (exponential / 2), MAX_BACKOFF_MS);
  }
}

/** What is stored of an attempt (output, error) is made storable here, once, for every caller. */
function storableAttempt(attempt: ProviderAttempt): ProviderAttempt {
  return { ...attempt, text: storableText(attempt.text), errorMessage: attempt.errorMessage === null ? null : storableText(attempt.errorMessage) };
}

/**
 * A call stopped before the provider reported its usage is metered with what
 * it used: its input as sent and its output so far, by the estimator (the
 * provider's own figure, when it reports one, is kept). Reconciliation with
 * the provider (SPEC 17) can correct it later from the request id.
 */
function usedSoFar(request: LlmRequest, attempt: ProviderAttempt): ProviderAttempt {
  if (attempt.status !== "cancelled" || attempt.usage.promptTokens > 0 || attempt.usage.completionTokens > 0) return attempt;
  const promptTokens = estimateTokens(request.messages.map((message) => message.content).join("\n"));
  const completionTokens = estimateTokens(attempt.text);
  return { ...attempt, usage: { ...attempt.usage, promptTokens, completionTokens, totalTokens: promptTokens + completionTokens } };
}

/** Waits `ms`, or less when `signal` aborts meanwhile. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return wait(ms, undefined, { signal }).catch(() => undefined);
}

export function createGateway(config: AppConfig, overrides: { localDelayMs?: number; backoffBaseMs?: number; metrics?: Metrics } = {}): LlmGateway {
  const { llm } = config;
  const provider: LlmProvider =
    llm.provider === "openrouter" && llm.openrouterApiKey
      ? new OpenRouterProvider({ apiKey: llm.openrouterApiKey, baseUrl: llm.openrouterBaseUrl, timeoutMs: llm.timeoutMs })
      : new LocalProvider({ delayMs: overrides.localDelayMs ?? 0, streamMs: llm.localStreamMs });
  const { metrics } = overrides;
  return new LlmGateway(provider, { maxRetries: llm.maxRetries, backoffBaseMs: overrides.backoffBaseMs, observe: metrics && ((attempt) => metrics.observeLlmCall(attempt)) });
}
