// Token estimate used when no tokenizer is available (SPEC section 6):
// ceil(chars / 4 × 1.25). Integer arithmetic: chars × 5 / 16.
export function estimateTokens(text: string): number {
  return Math.ceil((text.length * 5) / 16);
}
