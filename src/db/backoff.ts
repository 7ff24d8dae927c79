// Exponential backoff with jitter, for retrying a write until the database
// takes it (or a deadline passes).
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export const DATABASE_BACKOFF: BackoffOptions = { baseMs: 100, maxMs: 5_000 };

/** Delay before retry number `attempt` (0-based): half fixed, half random, so retries from many turns spread out. */
export function backoffDelay(attempt: number, options: BackoffOptions = DATABASE_BACKOFF): number {
  const exponential = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt, 30));
  return exponential / 2 + Math.random() * (exponential / 2);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `write` until it succeeds, retrying errors `retryable` accepts with
 * backoff until `deadlineMs` have passed since the first try; other errors,
 * and the last one, are thrown.
 */
export async function retryWithBackoff<T>(write: () => Promise<T>, retryable: (error: unknown) => boolean, deadlineMs: number, options = DATABASE_BACKOFF): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      const delay = backoffDelay(attempt, options);
      if (!retryable(error) || Date.now() + delay > deadline) throw error;
      await sleep(delay);
    }
  }
}
