-- Holds credits for one provider call of a turn (or of a metered preview,
-- whose id is then the hold's key, `of_turn` false) before it starts (SPEC 14):
-- at most `amount` (the call's bound at its normal output cap) and at least
-- `least_amount` (its bound at the lowest output worth asking for). With
-- `refuse_beyond_available` (enforce) the hold is what the wallet and the
-- turn's room have available, up to `amount`; below `least_amount` nothing
-- is held and `placed` is false. Without it (warn) `amount` is held whatever
-- is available. The turn's first call opens its hold (at accept, in the
-- accepting transaction); each later call adds to it; a debit settles a
-- call's cost from what was held for it and releases the rest
-- (credit_debit_ledger_row); the turn's end releases anything left
-- (credit_release_turn_hold). A turn whose hold was already released (it
-- ended) gets nothing. It may run inside the statement that inserts the turn
-- or starts its step: the hold's entry names the turn by its key. Locks: the wallet, the turn's hold, then the room's
-- month, the order every credit change takes them, so concurrent holds of one
-- user, on any instance, never together exceed what is available.
CREATE OR REPLACE FUNCTION "credit_hold_call"(hold_user UUID, hold_turn UUID, amount DECIMAL, least_amount DECIMAL, default_plan VARCHAR,
                                              refuse_beyond_available BOOLEAN, hold_room UUID, of_turn BOOLEAN)
RETURNS TABLE ("placed" BOOLEAN, "held" DECIMAL(20,4), "refused_by" TEXT, "available_before" DECIMAL(20,4),
               "room_available_before" DECIMAL(20,4), "monthly_budget" DECIMAL(20,4))
LANGUAGE plpgsql AS $$
DECLARE
  wallet "credit_wallets";
  current_period DATE := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
  available DECIMAL(20,4);
  budget DECIMAL(20,4);
  room_available DECIMAL(20,4);
  holding DECIMAL(20,4) := amount;
  hold "credit_holds";
  hold_month DATE := current_period;
BEGIN
  -- The usual case, a wallet open this month, is locked by one read; else it is opened in its period and locked.
  SELECT * INTO wallet FROM "credit_wallets" WHERE "user_id" = hold_user AND "period_start" = current_period FOR UPDATE;
  IF NOT FOUND THEN
    wallet := "credit_wallet_current"(hold_user, default_plan);
  END IF;
  available := "credit_available"(wallet);
  SELECT * INTO hold FROM "credit_holds" h WHERE h."turn_id" = hold_turn FOR UPDATE;
  IF FOUND THEN
    IF hold."released_at" IS NOT NULL THEN
      RETURN QUERY SELECT false, 0::DECIMAL(20,4), 'ended'::TEXT, available, NULL::DECIMAL(20,4), NULL::DECIMAL(20,4);
      RETURN;
    END IF;
    -- A turn's room holds all count in the month it was accepted in, where its debits release them.
    hold_month := coalesce(hold."room_period_start", current_period);
  END IF;
  IF hold_room IS NOT NULL THEN
    SELECT r."monthly_credit_budget" INTO budget FROM "rooms" r WHERE r."id" = hold_room;
    IF budget IS NOT NULL THEN
      INSERT INTO "room_credit_usage" ("room_id", "period_start") VALUES (hold_room, current_period) ON CONFLICT DO NOTHING;
      PERFORM 1 FROM "room_credit_usage" u WHERE u."room_id" = hold_room AND u."period_start" = current_period FOR UPDATE;
      room_available := "credit_room_available"(hold_room);
    END IF;
  END IF;
  IF refuse_beyond_available THEN
    holding := least(amount, available, coalesce(room_available, amount));
    IF holding < least_amount THEN
      RETURN QUERY SELECT false, 0::DECIMAL(20,4), CASE WHEN available >= least_amount THEN 'room' ELSE 'wallet' END, available, room_available, budget;
      RETURN;
    END IF;
  END IF;
  IF holding = 0 THEN -- nothing more to hold (the call runs on what the turn already holds): nothing to write
    RETURN QUERY SELECT true, 0::DECIMAL(20,4), NULL::TEXT, available, room_available, budget;
    RETURN;
  END IF;
  UPDATE "credit_wallets" AS w SET "held" = w."held" + holding, "updated_at" = now()
   WHERE w."user_id" = hold_user
  RETURNING * INTO wallet;
  IF hold_room IS NOT NULL THEN
    INSERT INTO "room_credit_usage" AS u ("room_id", "period_start", "held") VALUES (hold_room, hold_month, holding)
    ON CONFLICT ("room_id", "period_start") DO UPDATE SET "held" = u."held" + EXCLUDED."held";
  END IF;
  INSERT INTO "credit_holds" AS h ("turn_id", "user_id", "amount", "remaining", "room_id", "room_period_start")
  VALUES (hold_turn, hold_user, holding, holding, hold_room, CASE WHEN hold_room IS NULL THEN NULL ELSE hold_month END)
  ON CONFLICT ("turn_id") DO UPDATE SET "amount" = h."amount" + EXCLUDED."amount", "remaining" = h."remaining" + EXCLUDED."remaining";
  INSERT INTO "credit_transactions" ("user_id", "kind", "amount", "balance_after", "initiated_by", "idempotency_key", "turn_id", "period_start")
  VALUES (hold_user, 'hold', holding, "credit_available"(wallet), 'user:' || hold_user, 'hold:' || hold_turn || ':' || gen_random_uuid(),
          CASE WHEN of_turn THEN hold_turn END, wallet."period_start");
  RETURN QUERY SELECT true, holding, NULL::TEXT, available, room_available, budget;
END;
$$;
