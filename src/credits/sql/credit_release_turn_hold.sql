-- A turn's end (however it ends: by its owner, a lapsed lease, a shutdown,
-- or its session's deletion) releases what is left of its hold: the triggers
-- credit_release_turn_hold_on_end (AFTER UPDATE OF status ON turns, from
-- running to anything else) and credit_release_turn_hold_on_delete run this.
-- The wallet is locked before the hold, in the order a debit takes them, so a
-- debit replayed late and its turn's end never deadlock.
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
  IF hold."room_id" IS NOT NULL AND hold."remaining" > 0 THEN
    UPDATE "room_credit_usage" AS r SET "held" = r."held" - hold."remaining" WHERE r."room_id" = hold."room_id" AND r."period_start" = hold."room_period_start";
  END IF;
  INSERT INTO "credit_transactions" ("user_id", "kind", "amount", "balance_after", "initiated_by", "idempotency_key", "turn_id", "period_start")
  VALUES (hold."user_id", 'release', hold."remaining", "credit_available"(wallet), 'system',
          'release:' || hold."turn_id", CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE hold."turn_id" END, wallet."period_start");
  RETURN NULL;
END;
$$;
