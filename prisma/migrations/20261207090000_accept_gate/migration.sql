-- Accepting a message in one statement (src/turns/acceptSql.ts): the
-- per-user lock and the rate-limit windows move into a function the turn's
-- insert calls, so a send no longer needs a transaction of its own around
-- the lock, the read and the insert. No table changes.

-- The per-user gate every metered start passes (a sent message, a metered
-- routing preview): it takes the user's lock (transaction-scoped, so it is
-- held until the statement or transaction that called it commits, and safe
-- behind a transaction pooler), then counts the user's metered work in the
-- rate-limit windows: turns and metered previews of the last minute and
-- hour, and the seconds until each window's oldest entry ages out (database
-- clock). Being VOLATILE, it counts on a snapshot taken after the lock was
-- granted: it sees every turn and preview committed by whoever held the lock
-- before, and a suspension committed before it. `allowed` is false for a
-- suspended account or a full window; the windows say which
-- (src/turns/rateLimit.ts). The key is the caller's (src/turns/acceptSql.ts,
-- userGate).
CREATE OR REPLACE FUNCTION "turn_accept_gate"(gate_user UUID, lock_key BIGINT, per_minute INTEGER, per_hour INTEGER)
RETURNS TABLE ("allowed" BOOLEAN, "minute_count" INTEGER, "minute_retry" INTEGER, "hour_count" INTEGER, "hour_retry" INTEGER, "suspended" BOOLEAN)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(lock_key);
  RETURN QUERY
  WITH counted AS (
    SELECT count(*) FILTER (WHERE m."created_at" > now() - interval '60 seconds')::int AS in_minute,
           ceil(extract(epoch FROM min(m."created_at") FILTER (WHERE m."created_at" > now() - interval '60 seconds') + interval '60 seconds' - now()))::int AS minute_wait,
           count(*)::int AS in_hour,
           ceil(extract(epoch FROM min(m."created_at") + interval '3600 seconds' - now()))::int AS hour_wait,
           coalesce((SELECT u."suspended_at" IS NOT NULL FROM "users" u WHERE u."id" = gate_user), false) AS is_suspended
      FROM (SELECT t."created_at" FROM "turns" t WHERE t."user_id" = gate_user AND t."created_at" > now() - interval '3600 seconds'
            UNION ALL
            SELECT p."created_at" FROM "routing_previews" p WHERE p."user_id" = gate_user AND p."created_at" > now() - interval '3600 seconds') AS m)
  SELECT NOT c.is_suspended AND c.in_minute < per_minute AND c.in_hour < per_hour, c.in_minute, c.minute_wait, c.in_hour, c.hour_wait, c.is_suspended
    FROM counted c;
END;
$$;

-- A send whose first call cannot be held is refused by the statement that
-- would insert its turn (src/turns/acceptSql.ts). The hold runs after the
-- turn's insert, since its credit transaction names the turn, so the
-- refusal must undo that insert: raising undoes the whole statement, and
-- carries the hold's outcome (the available credits) to the caller.
CREATE OR REPLACE FUNCTION "turn_refuse_unheld"(outcome JSON) RETURNS INTEGER
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the first call of the send could not be held' USING ERRCODE = 'PA001', DETAIL = outcome::text;
END;
$$;
