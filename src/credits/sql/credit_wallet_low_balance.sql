-- Low balance (SPEC 13): the trigger credit_wallet_low_balance (BEFORE
-- UPDATE OF allowance, granted, plan ON credit_wallets) runs this. The
-- wallet's settled balance (allowance + granted; holds excluded, so a running
-- call's reservation neither raises nor clears it) crossing below its plan's
-- threshold raises one event, written with the change that crossed it; rising
-- back to the threshold re-arms it. Every change to a wallet locks its row,
-- so crossings are seen one at a time.
CREATE OR REPLACE FUNCTION "credit_wallet_low_balance"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  settled DECIMAL(20,4) := NEW."allowance" + NEW."granted";
  threshold DECIMAL(20,4);
BEGIN
  IF NEW."period_start" IS NULL OR (settled = OLD."allowance" + OLD."granted" AND NEW."plan" = OLD."plan") THEN RETURN NEW; END IF;
  SELECT "low_balance_threshold" INTO threshold FROM "credit_plans" WHERE "plan" = NEW."plan";
  IF settled < threshold THEN
    IF NEW."low_balance_since" IS NULL THEN
      NEW."low_balance_since" := now();
      INSERT INTO "wallet_events" ("user_id", "kind", "balance", "threshold", "plan") VALUES (NEW."user_id", 'low_balance', settled, threshold, NEW."plan");
    END IF;
  ELSIF NEW."low_balance_since" IS NOT NULL THEN
    NEW."low_balance_since" := NULL;
  END IF;
  RETURN NEW;
END;
$$;
