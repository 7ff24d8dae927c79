-- A user's metered work in the rate-limit windows (src/turns/rateLimit.ts):
-- sent messages (turns) and metered routing previews of the last minute and
-- hour, the seconds until each window's oldest entry ages out (database
-- clock), and whether the account is suspended. The accepting read, the
-- accept gate and a preview's reservation all count with it.
CREATE OR REPLACE FUNCTION "turn_rate_windows"(window_user UUID)
RETURNS TABLE ("minute_count" INTEGER, "minute_retry" INTEGER, "hour_count" INTEGER, "hour_retry" INTEGER, "suspended" BOOLEAN)
LANGUAGE sql STABLE AS $$
  SELECT count(*) FILTER (WHERE m."created_at" > now() - interval '60 seconds')::int,
         ceil(extract(epoch FROM min(m."created_at") FILTER (WHERE m."created_at" > now() - interval '60 seconds') + interval '60 seconds' - now()))::int,
         count(*)::int,
         ceil(extract(epoch FROM min(m."created_at") + interval '3600 seconds' - now()))::int,
         coalesce((SELECT u."suspended_at" IS NOT NULL FROM "users" u WHERE u."id" = window_user), false)
    FROM (SELECT t."created_at" FROM "turns" t WHERE t."user_id" = window_user AND t."created_at" > now() - interval '3600 seconds'
          UNION ALL
          SELECT p."created_at" FROM "routing_previews" p WHERE p."user_id" = window_user AND p."created_at" > now() - interval '3600 seconds') AS m;
$$;
