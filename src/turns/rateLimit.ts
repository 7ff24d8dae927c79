// Per-user rate limit on sendMessage, counted from the turns table inside the
// accepting transaction after the per-user lock (acceptSql.ts), so it holds
// across server instances and concurrent requests.
import { RateLimitedError } from "../errors.ts";

/** Turns in the last minute and hour, and seconds until each window's oldest turn ages out (database clock). */
export interface WindowUsage {
  minute_count: number;
  minute_retry: number | null;
  hour_count: number;
  hour_retry: number | null;
}

export function assertWithinRateLimit(usage: WindowUsage, limits: { turnsPerMinute: number; turnsPerHour: number }): void {
  if (usage.minute_count >= limits.turnsPerMinute) throw new RateLimitedError(Math.max(1, usage.minute_retry ?? 60));
  if (usage.hour_count >= limits.turnsPerHour) throw new RateLimitedError(Math.max(1, usage.hour_retry ?? 3600));
}
