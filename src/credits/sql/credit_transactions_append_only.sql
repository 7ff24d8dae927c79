-- Credit transactions are never edited or removed: the trigger
-- credit_transactions_append_only (BEFORE UPDATE OR DELETE) runs this. A
-- deleted turn detaching its transactions (ON DELETE SET NULL) is the one
-- change allowed.
CREATE OR REPLACE FUNCTION "credit_transactions_append_only"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW IS NOT DISTINCT FROM OLD THEN RETURN NEW; END IF;
  IF TG_OP = 'UPDATE' AND (to_jsonb(NEW) - 'turn_id') = (to_jsonb(OLD) - 'turn_id') AND NEW."turn_id" IS NULL THEN
    RETURN NEW; -- a deleted turn detaches its transactions (ON DELETE SET NULL)
  END IF;
  RAISE EXCEPTION 'credit_transactions is append-only' USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
