// Pricing versions as data. A ledger row stores the version it was priced
// with, so historical credits stay reproducible; repricing reads another
// version from here. Versions are never edited once rows reference them.
import type { ModelAliasName } from "../llm/models.ts";

export interface PricingVersion {
  id: string;
  /** When the version took (or would take) effect, UTC. */
  effectiveFrom: string;
  description: string;
  /** Credits multiplier per model alias (SPEC section 4). */
  multipliers: Record<ModelAliasName, string>;
  /** Lower bound applied to every multiplier: max(multiplier, floor). */
  multiplierFloor: string;
  /** OE token weights: fresh input, cached input, output. */
  weights: { fresh: string; cached: string; output: string };
  /** OE tokens per credit before the multiplier. */
  oeTokensPerCredit: string;
}

const SPEC_WEIGHTS = { fresh: "0.35", cached: "0.10", output: "1" };

export const PRICING_VERSIONS: Record<string, PricingVersion> = {
  "2026-02-20": {
    id: "2026-02-20",
    effectiveFrom: "2026-02-20T00:00:00Z",
    description: "Week-2 launch pricing (SPEC section 4).",
    multipliers: { deepseek: "1.00", llama: "0.50", qwen: "0.50", gpt_oss: "0.50", premium: "14.00" },
    multiplierFloor: "0.5",
    weights: SPEC_WEIGHTS,
    oeTokensPerCredit: "10000",
  },
  "2026-06-01": {
    id: "2026-06-01",
    effectiveFrom: "2026-06-01T00:00:00Z",
    description: "Alternative schedule for repricing comparisons (not in force): premium 12.00, qwen 0.75, llama and gpt_oss at the 0.50 floor.",
    multipliers: { deepseek: "1.00", llama: "0.40", qwen: "0.75", gpt_oss: "0.45", premium: "12.00" },
    multiplierFloor: "0.5",
    weights: SPEC_WEIGHTS,
    oeTokensPerCredit: "10000",
  },
};

/** The version new ledger rows are priced with. */
export const CURRENT_PRICING_VERSION = "2026-02-20";

export function pricingVersion(id: string): PricingVersion | undefined {
  return Object.hasOwn(PRICING_VERSIONS, id) ? PRICING_VERSIONS[id] : undefined;
}
