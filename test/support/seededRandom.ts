// A small deterministic generator (linear congruential): the same numbers on
// every run, so a randomized test or bench repeats and a failing case comes back.
export function seededRandom(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}
