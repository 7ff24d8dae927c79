-- A turn's release locks its user's wallet before the hold, in the order a
-- debit takes them (credit_debit_ledger_row: wallet, then hold), so a debit
-- replayed late and its turn's end never deadlock.
CREATE OR REPLACE FUNCTION "credit_release_turn_hold"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  turn_row "turns" := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
  hold "credit_holds";
  wallet "credit_wallets";
BEGIN
  IF NOT EXISTS (SELECT 1 FROM "credit_holds" WHERE "turn_id" = turn_row."id" AND "released_at" IS NULL) THEN RETURN NULL; END IF;
  PERFORM 1 FROM "credit_wallets" WHERE "user_id" = turn_row."user_id" FOR UPDATE;
  SELECT * INTO hold FROM "credit_holds" WHERE "turn_id" = turn_row."id" AND "released_at" IS NULL FOR UPDATE;
  IF NOT FOUND THEN RETURN NULL; END IF;
  UPDATE "credit_holds" SET "remaining" = 0, "released_at" = now() WHERE "turn_id" = hold."turn_id";
  UPDATE "credit_wallets" AS w SET "held" = w."held" - hold."remaining", "updated_at" = now()
   WHERE w."user_id" = hold."user_id"
  RETURNING * INTO wallet;
  INSERT INTO "credit_transactions" ("user_id", "kind", "amount", "balance_after", "initiated_by", "idempotency_key", "turn_id", "period_start")
  VALUES (hold."user_id", 'release', hold."remaining", wallet."allowance" + wallet."granted" - wallet."held", 'system',
          'release:' || hold."turn_id", CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE hold."turn_id" END, wallet."period_start");
  RETURN NULL;
END;
$$;
