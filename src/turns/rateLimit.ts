// Per-user rate limit on metered work: sent messages (turns) and metered
// routing previews count in the same windows, read inside the accepting
// transaction after the per-user lock (acceptSql.ts, previewReservation.ts),
// so it holds across server instances and concurrent requests.
import { sql, type Sql } from "../db/sql.ts";
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

/** The user's turns and metered previews in the last hour, as the windows above (database clock). */
export const rateWindowsSql = (userId: string): Sql => sql`
  SELECT count(*) FILTER (WHERE created_at > now() - interval '60 seconds')::int AS minute_count,
         ceil(extract(epoch FROM min(created_at) FILTER (WHERE created_at > now() - interval '60 seconds') + interval '60 seconds' - now()))::int AS minute_retry,
         count(*)::int AS hour_count,
         ceil(extract(epoch FROM min(created_at) + interval '3600 seconds' - now()))::int AS hour_retry,
         coalesce((SELECT suspended_at IS NOT NULL FROM users WHERE id = ${userId}::uuid), false) AS suspended
    FROM (SELECT created_at FROM turns WHERE user_id = ${userId}::uuid AND created_at > now() - interval '3600 seconds'
          UNION ALL
          SELECT created_at FROM routing_previews WHERE user_id = ${userId}::uuid AND created_at > now() - interval '3600 seconds') AS metered`;
