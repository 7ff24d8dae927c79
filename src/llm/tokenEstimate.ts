// Token estimate used when no tokenizer is available (SPEC section 6):
// ceil(chars / 4 × 1.25). Integer arithmetic: chars × 5 / 16.
export function estimateTokens(text: string): number {
  return estimateTokensOfLength(text.length);
}

/** The same estimate from a character count (e.g. summed in SQL), without building the text. */
export function estimateTokensOfLength(chars: number): number {
  return Math.ceil((chars * 5) / 16);
}
