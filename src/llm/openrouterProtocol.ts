// zod schemas for what OpenRouter's OpenAI-compatible chat completions API
// sends back: streamed chunks, whole completions and the usage block.
import { z } from "zod";
import type { ReportedUsage } from "./types.ts";

// Any number is accepted here: a count no column can hold (huge, fractional,
// negative) is still a call that happened, recorded and flagged by the ledger
// (metering/recordedUsage.ts) rather than turned into an invalid response.
const tokenCount = z.number();

export const usageSchema = z.object({
  prompt_tokens: tokenCount,
  completion_tokens: tokenCount,
  total_tokens: tokenCount.optional(),
  prompt_tokens_details: z.object({ cached_tokens: tokenCount.nullish() }).nullish(),
  cost: z.number().nullish(),
});

const providerErrorSchema = z.object({ message: z.string().optional(), code: z.union([z.number(), z.string()]).optional() });

export const streamChunkSchema = z.object({
  id: z.string().optional(),
  choices: z
    .array(z.object({ delta: z.object({ content: z.string().nullish() }).nullish(), finish_reason: z.string().nullish() }))
    .optional(),
  usage: usageSchema.nullish(),
  error: providerErrorSchema.optional(),
});

export const completionSchema = z.object({
  id: z.string(),
  choices: z.array(z.object({ message: z.object({ content: z.string().nullish() }), finish_reason: z.string().nullish() })).min(1),
  usage: usageSchema.nullish(),
});

export const errorBodySchema = z.object({ error: providerErrorSchema });

/** Cost arrives as a JSON number; fixed 8 decimals matches provider_cost_usd's scale without float drift in the string. */
function costToDecimalString(cost: number | null | undefined): string | undefined {
  if (cost === null || cost === undefined) return undefined;
  // toFixed switches to exponent notation from 1e21; String() keeps full precision there.
  return Math.abs(cost) < 1e21 ? cost.toFixed(8) : String(cost);
}

export function toReportedUsage(usage: z.infer<typeof usageSchema>): ReportedUsage {
  const cached = usage.prompt_tokens_details?.cached_tokens;
  return {
    promptTokens: usage.prompt_tokens,
    cachedTokens: cached ?? undefined,
    completionTokens: usage.completion_tokens,
    totalTokens: usage.total_tokens,
    costUsd: costToDecimalString(usage.cost),
  };
}
