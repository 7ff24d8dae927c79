// The most a provider call can be charged, computed from the exact request
// before it is sent (SPEC 14), priced like a ledger row (pricing.ts).
//
// Input. Every model here reads text through a tokenizer that spends at
// least one byte of its input per token: byte-level BPE (Llama 4, Qwen3,
// DeepSeek-V3, gpt-oss's o200k) maps each token to one or more bytes of the
// UTF-8 text, and SentencePiece with byte fallback (Gemini) maps each piece to
// one or more characters, an unknown character to its bytes. So the tokens of
// a text are at most its UTF-8 bytes. What the provider adds around the text
// is bounded per message (role and turn markers: `<|im_start|>user\n…<|im_end|>`
// and the like, a SentencePiece dummy prefix) and per request (the begin
// token, the assistant's generation prompt, gpt-oss's harmony system preamble),
// with a margin, in TOKENIZER_OVERHEAD. A structured request also carries its
// JSON schema, which a provider may place into the prompt: its bytes plus an
// instruction are counted. And no provider reads more than the model's window.
//   input ≤ min(Σ messages (utf8 bytes + per message) + per request
//              [+ schema bytes + STRUCTURED_OVERHEAD], context window)
// Output. Every request sends max_tokens, and the providers count reasoning
// tokens within it, so output ≤ max_tokens.
// Cached input is priced below fresh input, so the bound prices all input as
// fresh. The charge is monotonic in every count, so no row of the call can be
// charged above its bound.
//
// Where it would not hold: a provider that adds hidden prompt text beyond the
// overheads (a safety preamble, a router's own instructions, tool definitions
// — we send none), one that bills reasoning beyond max_tokens or ignores
// max_tokens, a tokenizer with a token that spans no input byte beyond the
// markers counted, and inputs that are not text (images, files — we send
// none). A report above the bound is stored as reported, flagged
// (exceeds_bound), counted (pantheon_llm_calls_above_bound_total) and listed
// for owners (callsAboveBound), never truncated.
import { contextLimitOf, type ModelAliasName } from "../llm/models.ts";
import type { CallKind, ChatMessage, StructuredOutput } from "../llm/types.ts";
import { outputFloorOf, type OutputLimits } from "./callKinds.ts";
import { creditsFor, oeTokens } from "./charge.ts";
import type { CreditUnits } from "./creditUnits.ts";
import { CURRENT_PRICING_VERSION, pricingVersion, type PricingVersion } from "./pricing.ts";

/** Tokens a provider adds around the text, per model family, with a margin. */
export const TOKENIZER_OVERHEAD: Record<ModelAliasName, { perMessage: number; perRequest: number }> = {
  llama: { perMessage: 8, perRequest: 16 },
  qwen: { perMessage: 8, perRequest: 16 },
  deepseek: { perMessage: 8, perRequest: 16 },
  gpt_oss: { perMessage: 8, perRequest: 128 },
  premium: { perMessage: 8, perRequest: 16 },
};

/** The instruction a provider may wrap around a JSON schema it places into the prompt. */
export const STRUCTURED_OVERHEAD = 64;

/** What a request's bound depends on: what it sends. */
export interface BoundedRequest {
  modelAlias: ModelAliasName;
  messages: readonly ChatMessage[];
  structured?: StructuredOutput;
  maxOutputTokens: number;
}

export interface CallBound {
  inputTokens: number;
  outputTokens: number;
  credits: CreditUnits;
}

/** The most input tokens the request can be counted for. */
export function inputTokenBound(request: Omit<BoundedRequest, "maxOutputTokens">): number {
  const overhead = TOKENIZER_OVERHEAD[request.modelAlias];
  let tokens = overhead.perRequest;
  for (const message of request.messages) tokens += Buffer.byteLength(message.content, "utf8") + overhead.perMessage;
  if (request.structured) tokens += Buffer.byteLength(JSON.stringify(request.structured.schema), "utf8") + STRUCTURED_OVERHEAD;
  return Math.min(tokens, contextLimitOf(request.modelAlias));
}

function version(): PricingVersion {
  return pricingVersion(CURRENT_PRICING_VERSION)!;
}

/** The charge of `inputTokens` fresh input and `outputTokens` output on `alias`, at the ledger's scale. */
export function chargeOf(alias: ModelAliasName, inputTokens: number, outputTokens: number): CreditUnits {
  const pricing = version();
  return creditsFor(oeTokens({ fresh: inputTokens, cached: 0, output: outputTokens }, pricing), alias, pricing);
}

export function callBound(request: BoundedRequest): CallBound {
  const inputTokens = inputTokenBound(request);
  return { inputTokens, outputTokens: request.maxOutputTokens, credits: chargeOf(request.modelAlias, inputTokens, request.maxOutputTokens) };
}

/** The bound at the call kind's output floor (`inputTokens` its input bound): the least its call can be held with. */
export function floorBound(request: Pick<BoundedRequest, "modelAlias" | "maxOutputTokens"> & { callKind: CallKind }, inputTokens: number, limits: OutputLimits): CreditUnits {
  return chargeOf(request.modelAlias, inputTokens, Math.min(request.maxOutputTokens, outputFloorOf(request.callKind, request.modelAlias, limits)));
}

/**
 * The largest max_tokens, at most `cap`, whose bound fits in `credits`; 0
 * when even an empty answer does not fit. The charge grows with the output,
 * so a binary search finds it exactly (rounding included).
 */
export function largestOutputWithin(alias: ModelAliasName, inputTokens: number, credits: CreditUnits, cap: number): number {
  if (chargeOf(alias, inputTokens, 0) > credits) return 0;
  let low = 0;
  let high = cap;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (chargeOf(alias, inputTokens, middle) <= credits) low = middle;
    else high = middle - 1;
  }
  return low;
}

/** Whether recorded usage went beyond the request's bound (the provider counted more than the request can contain). */
export function exceedsBound(usage: { fresh: number; cached: number; output: number }, bound: Pick<CallBound, "inputTokens" | "outputTokens">): boolean {
  return usage.fresh + usage.cached > bound.inputTokens || usage.output > bound.outputTokens;
}
