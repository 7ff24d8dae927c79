// The OpenRouter provider: one HTTP call to the OpenAI-compatible chat
// completions API per attempt, streamed, mapped to a ledger status. The key
// goes only into the Authorization header, never into errors or logs.
import { MODEL_REGISTRY } from "./models.ts";
import { completionSchema, errorBodySchema, streamChunkSchema, toReportedUsage } from "./openrouterProtocol.ts";
import { sseData } from "./sse.ts";
import { ZERO_USAGE, type CallStatus, type LlmProvider, type LlmRequest, type ProviderAttempt, type ReportedUsage } from "./types.ts";

export interface OpenRouterOptions {
  apiKey: string;
  baseUrl: string;
  timeoutMs: number;
}

interface Outcome {
  status: CallStatus;
  text: string;
  usage: ReportedUsage;
  requestId: string | null;
  errorMessage: string | null;
  retryable: boolean;
  retryAfterSeconds: number | null;
}

class InvalidResponse extends Error {}
class ProviderReportedError extends Error {}

export class OpenRouterProvider implements LlmProvider {
  readonly name = "openrouter" as const;

  constructor(private readonly options: OpenRouterOptions) {}

  async call(request: LlmRequest): Promise<ProviderAttempt> {
    const providerModel = MODEL_REGISTRY[request.modelAlias].providerModel;
    const started = performance.now();
    const outcome = await this.attempt(request, providerModel);
    return {
      provider: this.name,
      modelAlias: request.modelAlias,
      providerModel,
      callKind: request.callKind,
      latencyMs: Math.round(performance.now() - started),
      ...outcome,
    };
  }

  private body(request: LlmRequest, providerModel: string) {
    return {
      model: providerModel,
      messages: request.messages,
      max_tokens: request.maxOutputTokens,
      stream: true,
      stream_options: { include_usage: true },
      usage: { include: true },
      ...(request.structured
        ? { response_format: { type: "json_schema", json_schema: { name: request.structured.name, strict: true, schema: request.structured.schema } } }
        : {}),
    };
  }

  private async attempt(request: LlmRequest, providerModel: string): Promise<Outcome> {
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const signal = request.signal ? AbortSignal.any([timeout, request.signal]) : timeout;
    const progress = { text: "", usage: ZERO_USAGE, requestId: null as string | null };
    try {
      const response = await fetch(`${this.options.baseUrl.replace(/\/$/, "")}/chat/completions`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${this.options.apiKey}`,
          "content-type": "application/json",
          accept: "text/event-stream, application/json",
        },
        body: JSON.stringify(this.body(request, providerModel)),
        signal,
      });
      if (!response.ok) return await httpFailure(response);
      const isStream = (response.headers.get("content-type") ?? "").includes("text/event-stream");
      if (isStream && response.body) await readStream(response.body, request, progress);
      else await readCompletion(response, request, progress);
      return { status: "success", ...progress, errorMessage: null, retryable: false, retryAfterSeconds: null };
    } catch (error) {
      return failure(error, { timeout, stopped: request.signal }, progress);
    }
  }
}

async function readStream(body: ReadableStream<Uint8Array>, request: LlmRequest, progress: { text: string; usage: ReportedUsage; requestId: string | null }) {
  for await (const data of sseData(body)) {
    if (data.trim() === "[DONE]") break;
    const chunk = streamChunkSchema.safeParse(parseJson(data));
    if (!chunk.success) throw new InvalidResponse("the provider sent a chunk that does not match the protocol");
    if (chunk.data.id) progress.requestId = chunk.data.id;
    if (chunk.data.usage) progress.usage = toReportedUsage(chunk.data.usage);
    if (chunk.data.error) throw new ProviderReportedError(`the provider reported an error mid-stream (${chunk.data.error.code ?? "no code"})`);
    const content = chunk.data.choices?.[0]?.delta?.content;
    if (content) {
      progress.text += content;
      request.onDelta?.(content);
    }
  }
}

async function readCompletion(response: Response, request: LlmRequest, progress: { text: string; usage: ReportedUsage; requestId: string | null }) {
  const parsed = completionSchema.safeParse(parseJson(await response.text()));
  if (!parsed.success) throw new InvalidResponse("the provider sent a completion that does not match the protocol");
  progress.requestId = parsed.data.id;
  if (parsed.data.usage) progress.usage = toReportedUsage(parsed.data.usage);
  progress.text = parsed.data.choices[0]!.message.content ?? "";
  if (progress.text) request.onDelta?.(progress.text);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidResponse("the provider sent malformed JSON");
  }
}

function retryAfterOf(response: Response): number | null {
  const header = response.headers.get("retry-after");
  if (header === null) return null;
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

async function httpFailure(response: Response): Promise<Outcome> {
  const body = errorBodySchema.safeParse(await response.json().catch(() => null));
  const code = body.success ? ` (${body.data.error.code ?? "no code"})` : "";
  const base = { text: "", usage: ZERO_USAGE, requestId: response.headers.get("x-request-id"), retryAfterSeconds: retryAfterOf(response) };
  if (response.status === 429) return { ...base, status: "rate_limited", errorMessage: `the provider rate-limited the call${code}`, retryable: true };
  if (response.status === 408) return { ...base, status: "timeout", errorMessage: "the provider timed out", retryable: false };
  return { ...base, status: "error", errorMessage: `the provider answered HTTP ${response.status}${code}`, retryable: response.status >= 500 };
}

function failure(error: unknown, signals: { timeout: AbortSignal; stopped: AbortSignal | undefined }, progress: { text: string; usage: ReportedUsage; requestId: string | null }): Outcome {
  const base = { ...progress, retryAfterSeconds: null };
  // Stopped by its caller (a cancelled or timed-out turn): what streamed so far is kept, and metered.
  if (signals.stopped?.aborted) return { ...base, status: "cancelled", errorMessage: "the call was stopped before it finished", retryable: false };
  if (signals.timeout.aborted) return { ...base, status: "timeout", errorMessage: "the provider did not answer in time", retryable: false };
  if (error instanceof InvalidResponse) return { ...base, status: "invalid_response", errorMessage: error.message, retryable: false };
  if (error instanceof ProviderReportedError) return { ...base, status: "error", errorMessage: error.message, retryable: false };
  // A network failure is retried only if nothing was streamed yet, so no client sees text twice.
  return { ...base, status: "error", errorMessage: "the provider could not be reached", retryable: progress.text === "" };
}
