// Active users over whole UTC days. A user is active on a UTC day when at
// least one ledger row of theirs (any status: a failed call is still use)
// was created that day. For each day d of the range:
//   DAU(d) = users active on d
//   WAU(d) = users active on at least one of d-6 .. d   (7 trailing days)
//   MAU(d) = users active on at least one of d-29 .. d  (30 trailing days)
//   DAU/MAU(d) = DAU(d) / MAU(d), 0 when MAU(d) = 0, 4 decimals half-up.
// For the trailing windows, each active day a of a user counts them on
// [a, min(a + window, next active day)): those spans never overlap, so a
// running sum of +1/-1 at span edges counts distinct users per day in one
// pass over user_activity_days. Before the range only each user's latest
// active day matters (earlier spans end before the range starts).
import { Prisma } from "../generated/prisma/client.ts";
import { raw, sql, type Sql } from "../db/sql.ts";
import type { Db } from "../db.ts";
import type { DayRange } from "./range.ts";

export const ACTIVITY_WINDOWS = { week: 7, month: 30 } as const;
const LOOKBACK_DAYS = ACTIVITY_WINDOWS.month - 1;
const RATIO_SCALE = 4;

export interface ActiveUsersDay {
  day: string;
  dau: number;
  wau: number;
  mau: number;
  dauOverMau: string;
}

export interface ActiveUsersReport {
  range: DayRange;
  days: ActiveUsersDay[];
  /** Users active on at least one day of the range. */
  distinctUsers: number;
  /** Mean DAU over the range's days, 4 decimals. */
  averageDau: string;
}

/** Enough memory to sort and window a year of user-days without spilling to disk (transaction-local). */
export const ACTIVE_USERS_SETTINGS = ["SET LOCAL work_mem = '32MB'"] as const;

interface ActiveUsersRow {
  day: string;
  dau: number;
  wau: number;
  mau: number;
}

export function activeUsersSql(range: DayRange): Sql {
  const { week, month } = ACTIVITY_WINDOWS;
  return sql`
    WITH bounds AS (SELECT ${range.firstDay}::date AS first_day, ${range.endDay}::date AS end_day),
    active AS (
      SELECT x.user_id, x.day, lead(x.day) OVER (PARTITION BY x.user_id ORDER BY x.day) AS next_day
        FROM (SELECT a.user_id, max(a.day) AS day FROM user_activity_days a, bounds b
               WHERE a.day >= b.first_day - ${LOOKBACK_DAYS}::int AND a.day < b.first_day GROUP BY a.user_id
              UNION ALL
              SELECT a.user_id, a.day FROM user_activity_days a, bounds b
               WHERE a.day >= b.first_day AND a.day < b.end_day) x),
    windows(size) AS (VALUES (${week}::int), (${month}::int)),
    edges AS (
      SELECT w.size, a.day AS at, 1 AS delta FROM active a CROSS JOIN windows w
      UNION ALL
      SELECT w.size, least(a.day + w.size, a.next_day), -1 FROM active a CROSS JOIN windows w),
    changes AS (SELECT size, at, sum(delta) AS delta FROM edges GROUP BY size, at),
    calendar AS (
      SELECT w.size, d::date AS day FROM windows w, bounds b,
             generate_series(b.first_day - ${LOOKBACK_DAYS}::int, b.end_day - 1, interval '1 day') d),
    counts AS (
      SELECT c.size, c.day, sum(coalesce(ch.delta, 0)) OVER (PARTITION BY c.size ORDER BY c.day) AS users
        FROM calendar c LEFT JOIN changes ch ON ch.size = c.size AND ch.at = c.day),
    daily AS (SELECT a.day, count(*) AS users FROM active a, bounds b WHERE a.day >= b.first_day GROUP BY a.day)
    SELECT to_char(c.day, 'YYYY-MM-DD') AS day,
           coalesce(max(daily.users), 0)::int AS dau,
           max(c.users) FILTER (WHERE c.size = ${week}::int)::int AS wau,
           max(c.users) FILTER (WHERE c.size = ${month}::int)::int AS mau
      FROM counts c JOIN bounds b ON c.day >= b.first_day LEFT JOIN daily ON daily.day = c.day
     GROUP BY c.day ORDER BY c.day`;
}

interface DistinctUsersRow {
  users: number;
}

export function distinctActiveUsersSql(range: DayRange): Sql {
  return sql`SELECT count(DISTINCT user_id)::int AS users FROM user_activity_days
    WHERE day >= ${range.firstDay}::date AND day < ${range.endDay}::date`;
}

function ratio(numerator: number | string, denominator: number | string): string {
  const divisor = new Prisma.Decimal(denominator);
  if (divisor.isZero()) return new Prisma.Decimal(0).toFixed(RATIO_SCALE);
  return new Prisma.Decimal(numerator).div(divisor).toFixed(RATIO_SCALE, Prisma.Decimal.ROUND_HALF_UP);
}

export async function activeUsers(db: Db, range: DayRange): Promise<ActiveUsersReport> {
  // SET LOCAL lasts for this transaction only, so it is safe behind a transaction pooler.
  const { rows, distinct } = await db.$transaction(async (tx) => {
    for (const setting of ACTIVE_USERS_SETTINGS) await tx.$executeRaw(raw(setting));
    const days = await tx.$queryRaw<ActiveUsersRow[]>(activeUsersSql(range));
    const [users] = await tx.$queryRaw<DistinctUsersRow[]>(distinctActiveUsersSql(range));
    return { rows: days, distinct: users };
  });
  const days = rows.map((row) => ({ ...row, dauOverMau: ratio(row.dau, row.mau) }));
  const dauSum = days.reduce((sum, row) => sum + row.dau, 0);
  return { range, days, distinctUsers: distinct!.users, averageDau: ratio(dauSum, days.length) };
}
