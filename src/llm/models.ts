// The model registry: what each alias maps to and what it can do. Gate B reads
// `structuredOutput`; the context budget reads `contextLimit`.
export const MODEL_ALIASES = ["llama", "qwen", "deepseek", "gpt_oss", "premium"] as const;
export type ModelAliasName = (typeof MODEL_ALIASES)[number];

export interface ModelCapabilities {
  alias: ModelAliasName;
  /** Exact model string sent to OpenRouter. */
  providerModel: string;
  /** Context window in tokens. */
  contextLimit: number;
  /** Accepts a JSON schema response_format and returns conforming output. */
  structuredOutput: boolean;
}

export const DEFAULT_CONTEXT_LIMIT = 8192;
export const DEFAULT_MANAGER_MODEL: ModelAliasName = "deepseek";

export const MODEL_REGISTRY: Record<ModelAliasName, ModelCapabilities> = {
  llama: { alias: "llama", providerModel: "meta-llama/llama-4-scout", contextLimit: 327_680, structuredOutput: false },
  qwen: { alias: "qwen", providerModel: "qwen/qwen3-235b-a22b", contextLimit: 40_960, structuredOutput: true },
  deepseek: { alias: "deepseek", providerModel: "deepseek/deepseek-v3.1-terminus", contextLimit: 163_840, structuredOutput: true },
  gpt_oss: { alias: "gpt_oss", providerModel: "openai/gpt-oss-120b", contextLimit: 131_072, structuredOutput: true },
  premium: { alias: "premium", providerModel: "google/gemini-2.5-pro", contextLimit: 1_048_576, structuredOutput: true },
};

export function isModelAlias(value: string): value is ModelAliasName {
  return (MODEL_ALIASES as readonly string[]).includes(value);
}

/** Unknown models get the conservative limit of SPEC section 6. */
export function contextLimitOf(alias: string): number {
  return isModelAlias(alias) ? MODEL_REGISTRY[alias].contextLimit : DEFAULT_CONTEXT_LIMIT;
}
