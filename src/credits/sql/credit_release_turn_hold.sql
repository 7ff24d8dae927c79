-- A turn's end (however it ends: by its owner, a lapsed lease, a shutdown,
-- or its session's deletion) releases what is left of its hold: the triggers
-- credit_release_turn_hold_on_end (AFTER UPDATE OF status ON turns, from
-- running to anything else) and credit_release_turn_hold_on_delete run this.
CREATE OR REPLACE FUNCTION "credit_release_turn_hold"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  turn_row "turns" := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
BEGIN
  PERFORM "credit_release_hold"(turn_row."id", turn_row."user_id", TG_OP = 'DELETE');
  RETURN NULL;
END;
$$;
