// Per-user rate limit on sendMessage, counted from the turns table inside the
// accepting transaction under a per-user transaction lock, so it holds across
// server instances and concurrent requests (pgbouncer-safe: xact-scoped lock).
import type pg from "pg";
import { RateLimitedError } from "../errors.ts";

interface WindowUsage {
  minute_count: number;
  minute_retry: number | null;
  hour_count: number;
  hour_retry: number | null;
}

// Seconds until a window's oldest turn ages out, by the database clock.
const WINDOW_USAGE = `
  SELECT count(*) FILTER (WHERE created_at > now() - interval '60 seconds')::int AS minute_count,
         ceil(extract(epoch FROM min(created_at) FILTER (WHERE created_at > now() - interval '60 seconds') + interval '60 seconds' - now()))::int AS minute_retry,
         count(*)::int AS hour_count,
         ceil(extract(epoch FROM min(created_at) + interval '3600 seconds' - now()))::int AS hour_retry
    FROM turns WHERE user_id = $1 AND created_at > now() - interval '3600 seconds'`;

export async function enforceRateLimit(client: pg.ClientBase, userId: string, limits: { turnsPerMinute: number; turnsPerHour: number }): Promise<void> {
  await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`turn-rate:${userId}`]);
  const usage = (await client.query<WindowUsage>(WINDOW_USAGE, [userId])).rows[0]!;
  if (usage.minute_count >= limits.turnsPerMinute) throw new RateLimitedError(Math.max(1, usage.minute_retry ?? 60));
  if (usage.hour_count >= limits.turnsPerHour) throw new RateLimitedError(Math.max(1, usage.hour_retry ?? 3600));
}
