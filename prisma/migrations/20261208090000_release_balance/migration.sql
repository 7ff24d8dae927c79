-- A turn's ending event carries the balance its hold's release left
-- (TurnCompleted / TurnFailed creditsAvailableAfter), written by the ending
-- statement itself (src/turns/stepSql.ts, endTurnStatement), so a subscriber
-- no longer reads it back from credit_transactions after every turn. The
-- release therefore answers that balance. Its return type changes, so it is
-- dropped and created again; its callers (credit_release_turn_hold,
-- credit_release_stale_holds, a preview's release) call it by name at run
-- time and ignore what it answers. No table changes.
DROP FUNCTION "credit_release_hold"(UUID, UUID, BOOLEAN);

-- Releases what a hold still holds, once: its wallet's held and its room's
-- month go down by it and a 'release' entry records it. A turn's hold is
-- released when the turn ends (credit_release_turn_hold), a metered
-- preview's when its call's row is recorded (releaseHold in
-- credits/callHolds.ts), and a preview's that was never released (its
-- process died) by credit_release_stale_holds. The wallet is locked before
-- the hold, in the order a debit takes them, so a debit replayed late and a
-- release never deadlock. Returns what the wallet has available right after
-- the release (the entry's balance_after), or NULL when there was nothing to
-- release: a turn's ending statement calls it itself to carry that balance in
-- its ending event, before the trigger would (which then finds it released).
CREATE OR REPLACE FUNCTION "credit_release_hold"(hold_key UUID, hold_user UUID, turn_deleted BOOLEAN) RETURNS DECIMAL(20,4)
LANGUAGE plpgsql AS $$
DECLARE
  hold "credit_holds";
  wallet "credit_wallets";
BEGIN
  IF NOT EXISTS (SELECT 1 FROM "credit_holds" WHERE "turn_id" = hold_key AND "released_at" IS NULL) THEN RETURN NULL; END IF;
  PERFORM 1 FROM "credit_wallets" WHERE "user_id" = hold_user FOR UPDATE;
  SELECT * INTO hold FROM "credit_holds" WHERE "turn_id" = hold_key AND "released_at" IS NULL FOR UPDATE;
  IF NOT FOUND THEN RETURN NULL; END IF;
  UPDATE "credit_holds" SET "remaining" = 0, "released_at" = now() WHERE "turn_id" = hold."turn_id";
  UPDATE "credit_wallets" AS w SET "held" = w."held" - hold."remaining", "updated_at" = now()
   WHERE w."user_id" = hold."user_id"
  RETURNING * INTO wallet;
  IF hold."room_id" IS NOT NULL AND hold."remaining" > 0 THEN
    UPDATE "room_credit_usage" AS r SET "held" = r."held" - hold."remaining" WHERE r."room_id" = hold."room_id" AND r."period_start" = hold."room_period_start";
  END IF;
  INSERT INTO "credit_transactions" ("user_id", "kind", "amount", "balance_after", "initiated_by", "idempotency_key", "turn_id", "period_start")
  VALUES (hold."user_id", 'release', hold."remaining", "credit_available"(wallet), 'system', 'release:' || hold."turn_id",
          CASE WHEN turn_deleted THEN NULL ELSE (SELECT t."id" FROM "turns" t WHERE t."id" = hold."turn_id") END, wallet."period_start");
  RETURN "credit_available"(wallet);
END;
$$;
