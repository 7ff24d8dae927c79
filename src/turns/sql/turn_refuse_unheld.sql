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
