// The spans our seams open when tracing is on, and how a span ends: a span
// records ids, names, statuses and durations, never prompts, outputs, message
// content, parameter values or keys. A failure is recorded by the error's class
// and code only (its message may carry values or hosts).
import { SpanKind, SpanStatusCode, type Attributes, type Span } from "@opentelemetry/api";
import { ATTR_ERROR_TYPE } from "@opentelemetry/semantic-conventions";
import { activeTracer } from "./tracing.ts";

export function endFailed(span: Span, error: unknown): void {
  const type = error instanceof Error ? error.name : typeof error;
  const code = (error as { code?: unknown } | null)?.code;
  span.setAttributes({ [ATTR_ERROR_TYPE]: type, ...(typeof code === "string" ? { "error.code": code } : {}) });
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
  span.end();
}

/**
 * Runs `run` inside a new active span when tracing is on, so the spans of
 * what it does (statements, provider calls) nest under it; `settle` adds what
 * the result says. Tracing off: just runs it.
 */
export function inSpan<T>(name: string, kind: SpanKind, attributes: Attributes, run: () => Promise<T>, settle: (span: Span, result: T) => void): Promise<T> {
  const tracer = activeTracer();
  if (!tracer) return run();
  return tracer.startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      const result = await run();
      settle(span, result);
      span.end();
      return result;
    } catch (error) {
      endFailed(span, error);
      throw error;
    }
  });
}

/** A turn runs after its request has returned: its span is the parent of everything the turn does. */
export function turnSpan<T extends { status: string }>(turn: { turnId: string; mode: string }, run: () => Promise<T>): Promise<T> {
  if (!activeTracer()) return run();
  return inSpan("turn", SpanKind.INTERNAL, { "turn.id": turn.turnId, "turn.mode": turn.mode }, run, (span, ending) => {
    span.setAttribute("turn.status", ending.status);
    if (ending.status === "failed") span.setStatus({ code: SpanStatusCode.ERROR, message: "turn failed" });
  });
}

/** What a provider call's span records of its outcome (llm/types.ts ProviderAttempt). */
interface ProviderCallOutcome {
  providerModel: string;
  status: string;
  latencyMs: number;
  usage: { promptTokens: number; completionTokens: number };
}

/** One provider call (one attempt: a retried call is several spans). */
export function providerCallSpan<Attempt extends ProviderCallOutcome>(request: { modelAlias: string; callKind: string }, provider: string, call: () => Promise<Attempt>): Promise<Attempt> {
  if (!activeTracer()) return call();
  const attributes = { "gen_ai.operation.name": "chat", "gen_ai.provider.name": provider, "llm.model_alias": request.modelAlias, "llm.call_kind": request.callKind };
  return inSpan(`chat ${request.modelAlias}`, SpanKind.CLIENT, attributes, call, (span, attempt) => {
    span.setAttributes({
      "gen_ai.request.model": attempt.providerModel,
      "llm.status": attempt.status,
      "llm.latency_ms": attempt.latencyMs,
      "gen_ai.usage.input_tokens": attempt.usage.promptTokens,
      "gen_ai.usage.output_tokens": attempt.usage.completionTokens,
    });
    if (attempt.status === "success") return;
    span.setAttribute(ATTR_ERROR_TYPE, attempt.status);
    span.setStatus({ code: SpanStatusCode.ERROR, message: attempt.status });
  });
}
