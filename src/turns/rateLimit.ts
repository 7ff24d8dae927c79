// Per-user rate limit on sendMessage, counted from the turns table inside the
// accepting transaction under a per-user transaction lock, so it holds across
// server instances and concurrent requests (pgbouncer-safe: xact-scoped lock).
import type { Prisma } from "../generated/prisma/client.ts";
import { RateLimitedError } from "../errors.ts";

interface Window {
  limit: number;
  seconds: number;
}

interface WindowUsage {
  count: bigint;
  /** Seconds until the window's oldest turn ages out, by the database clock. */
  retry_after: number | null;
}

async function usageIn(tx: Prisma.TransactionClient, userId: string, window: Window): Promise<WindowUsage> {
  const [row] = await tx.$queryRaw<WindowUsage[]>`
    SELECT count(*) AS count,
           ceil(extract(epoch FROM min(created_at) + make_interval(secs => ${window.seconds}::float8) - now()))::int AS retry_after
      FROM turns
     WHERE user_id = ${userId}::uuid AND created_at > now() - make_interval(secs => ${window.seconds}::float8)`;
  return row!;
}

export async function enforceRateLimit(tx: Prisma.TransactionClient, userId: string, limits: { turnsPerMinute: number; turnsPerHour: number }): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`turn-rate:${userId}`}, 0))`;
  for (const window of [{ limit: limits.turnsPerMinute, seconds: 60 }, { limit: limits.turnsPerHour, seconds: 3600 }]) {
    const usage = await usageIn(tx, userId, window);
    if (Number(usage.count) < window.limit) continue;
    throw new RateLimitedError(Math.max(1, usage.retry_after ?? window.seconds));
  }
}
