-- Every ledger row debits its user in the inserting transaction, once (the
-- debit's key is the row's id; a row skipped by ON CONFLICT DO NOTHING fires
-- nothing): the trigger credit_debit_ledger_row, AFTER INSERT ON
-- llm_call_events, runs this for each row that any writer inserts. The debit
-- draws from the allowance, then from granted credits, and counts in the
-- row's room's month. A row of a turn with a hold (SPEC 14) carries what was
-- held for its call (hold_credits): that much leaves the hold, the call's
-- cost settled from it and the rest released, in this one write. A row
-- without it (the previous release's whole-turn holds) settles its cost from
-- whatever the turn holds.
CREATE OR REPLACE FUNCTION "credit_debit_ledger_row"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  wallet "credit_wallets";
  hold "credit_holds";
  freed DECIMAL(20,4) := 0;
  settled DECIMAL(20,4) := 0;
  from_allowance DECIMAL(20,4);
  current_period DATE := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
  freed_room_held DECIMAL(20,4) := 0;
BEGIN
  wallet := "credit_wallet_current"(NEW."user_id", NULL);
  IF NEW."turn_id" IS NOT NULL THEN
    SELECT * INTO hold FROM "credit_holds" WHERE "turn_id" = NEW."turn_id" AND "released_at" IS NULL FOR UPDATE;
    IF FOUND THEN
      freed := least(hold."remaining", coalesce(NEW."hold_credits", NEW."credits_burned"));
      settled := least(freed, NEW."credits_burned");
      IF freed > 0 THEN -- an exhausted hold is not rewritten
        UPDATE "credit_holds" AS h SET "remaining" = h."remaining" - freed WHERE h."turn_id" = NEW."turn_id";
      END IF;
    END IF;
  END IF;
  from_allowance := least(wallet."allowance", NEW."credits_burned");
  UPDATE "credit_wallets" AS w
     SET "allowance" = w."allowance" - from_allowance,
         "granted" = w."granted" - (NEW."credits_burned" - from_allowance),
         "held" = w."held" - freed,
         "updated_at" = now()
   WHERE w."user_id" = NEW."user_id"
  RETURNING * INTO wallet;
  INSERT INTO "credit_transactions" ("user_id", "kind", "amount", "from_hold", "released", "balance_after", "initiated_by", "idempotency_key",
                                     "ledger_event_id", "turn_id", "period_start")
  VALUES (NEW."user_id", 'debit', NEW."credits_burned", settled, freed - settled, "credit_available"(wallet),
          'user:' || NEW."user_id", 'debit:' || NEW."id", NEW."id", NEW."turn_id", wallet."period_start");
  -- What leaves the hold leaves its room's month too: in the same write as the row's spend when that is the same month's row.
  IF freed > 0 AND hold."room_id" = NEW."room_id" AND hold."room_period_start" = current_period THEN
    freed_room_held := freed;
  END IF;
  IF NEW."room_id" IS NOT NULL THEN
    INSERT INTO "room_credit_usage" AS r ("room_id", "period_start", "spent") VALUES (NEW."room_id", current_period, NEW."credits_burned")
    ON CONFLICT ("room_id", "period_start") DO UPDATE SET "spent" = r."spent" + EXCLUDED."spent", "held" = r."held" - freed_room_held;
  END IF;
  IF freed > 0 AND hold."room_id" IS NOT NULL AND freed_room_held = 0 THEN
    UPDATE "room_credit_usage" AS r SET "held" = r."held" - freed WHERE r."room_id" = hold."room_id" AND r."period_start" = hold."room_period_start";
  END IF;
  RETURN NULL;
END;
$$;
