// Per-user rate limit on metered work: sent messages (turns) and metered
// routing previews count in the same windows, counted by the gate that every
// turn's insert and every preview's reservation passes
// (sql/turn_accept_gate.sql) after the per-user lock, so the limit holds
// across server instances and concurrent requests.
import { ForbiddenError, RateLimitedError } from "../errors.ts";

/** Turns in the last minute and hour, and seconds until each window's oldest turn ages out (database clock). */
export interface WindowUsage {
  /** The account is suspended: read under the same lock, so no turn starts after a suspension commits. */
  suspended: boolean;
  minute_count: number;
  minute_retry: number | null;
  hour_count: number;
  hour_retry: number | null;
}

/** The checks read under the per-user lock: a suspended account first (FORBIDDEN), then the windows (RATE_LIMITED). */
export function assertWithinRateLimit(usage: WindowUsage, limits: { turnsPerMinute: number; turnsPerHour: number }): void {
  if (usage.suspended) throw new ForbiddenError("This account is suspended.");
  if (usage.minute_count >= limits.turnsPerMinute) throw new RateLimitedError(Math.max(1, usage.minute_retry ?? 60));
  if (usage.hour_count >= limits.turnsPerHour) throw new RateLimitedError(Math.max(1, usage.hour_retry ?? 3600));
}
