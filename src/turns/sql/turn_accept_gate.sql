-- The per-user gate every metered start passes (a sent message, a metered
-- routing preview): it takes the user's lock (transaction-scoped, so it is
-- held until the statement or transaction that called it commits, and safe
-- behind a transaction pooler), then counts the rate-limit windows. Being
-- VOLATILE, its count runs on a snapshot taken after the lock was granted:
-- it sees every turn and preview committed by whoever held the lock before,
-- and a suspension committed before it. `allowed` is false for a suspended
-- account or a full window; the windows say which (src/turns/rateLimit.ts).
-- The key is the caller's (src/turns/acceptSql.ts, userLock).
CREATE OR REPLACE FUNCTION "turn_accept_gate"(gate_user UUID, lock_key BIGINT, per_minute INTEGER, per_hour INTEGER)
RETURNS TABLE ("allowed" BOOLEAN, "minute_count" INTEGER, "minute_retry" INTEGER, "hour_count" INTEGER, "hour_retry" INTEGER, "suspended" BOOLEAN)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  counted RECORD;
BEGIN
  PERFORM pg_advisory_xact_lock(lock_key);
  SELECT * INTO counted FROM "turn_rate_windows"(gate_user) w;
  RETURN QUERY SELECT NOT counted."suspended" AND counted."minute_count" < per_minute AND counted."hour_count" < per_hour,
                      counted."minute_count", counted."minute_retry", counted."hour_count", counted."hour_retry", counted."suspended";
END;
$$;
