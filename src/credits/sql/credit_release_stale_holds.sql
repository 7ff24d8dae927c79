-- Holds nobody will release any more: a metered preview's whose process died
-- between its hold and its release. A hold older than `older_than` whose key
-- is no running turn is released (a turn's hold is released when the turn
-- ends, and a running turn keeps its own). Returns how many were released.
CREATE OR REPLACE FUNCTION "credit_release_stale_holds"(older_than INTERVAL) RETURNS INTEGER
LANGUAGE plpgsql AS $$
DECLARE
  stale RECORD;
  released INTEGER := 0;
BEGIN
  FOR stale IN
    SELECT h."turn_id", h."user_id" FROM "credit_holds" h
     WHERE h."released_at" IS NULL AND h."created_at" < now() - older_than
       AND NOT EXISTS (SELECT 1 FROM "turns" t WHERE t."id" = h."turn_id" AND t."status" = 'running')
  LOOP
    PERFORM "credit_release_hold"(stale."turn_id", stale."user_id", false);
    released := released + 1;
  END LOOP;
  RETURN released;
END;
$$;
