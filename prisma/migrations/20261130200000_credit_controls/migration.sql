-- Credit controls (SPEC 13): room budgets, low-balance events, plan changes,
-- and grants by ops (no user id).

-- AlterTable
ALTER TABLE "rooms" ADD COLUMN     "monthly_credit_budget" DECIMAL(20,4);

-- AlterTable
ALTER TABLE "credit_plans" ADD COLUMN     "low_balance_threshold" DECIMAL(20,4);
UPDATE "credit_plans" SET "low_balance_threshold" = "monthly_allowance" / 10;
ALTER TABLE "credit_plans" ALTER COLUMN "low_balance_threshold" SET NOT NULL;

-- AlterTable
ALTER TABLE "credit_transactions" ALTER COLUMN "created_at" SET DEFAULT clock_timestamp();

-- AlterTable
ALTER TABLE "credit_wallets" ADD COLUMN     "low_balance_since" TIMESTAMPTZ(6);

-- AlterTable
ALTER TABLE "credit_holds" ADD COLUMN     "room_id" UUID,
ADD COLUMN     "room_period_start" DATE;

-- CreateTable
CREATE TABLE "room_credit_usage" (
    "room_id" UUID NOT NULL,
    "period_start" DATE NOT NULL,
    "spent" DECIMAL(20,4) NOT NULL DEFAULT 0,
    "held" DECIMAL(20,4) NOT NULL DEFAULT 0,

    CONSTRAINT "room_credit_usage_pkey" PRIMARY KEY ("room_id","period_start")
);

-- CreateTable
CREATE TABLE "wallet_events" (
    "id" BIGSERIAL NOT NULL,
    "user_id" UUID NOT NULL,
    "kind" VARCHAR(32) NOT NULL,
    "balance" DECIMAL(20,4) NOT NULL,
    "threshold" DECIMAL(20,4) NOT NULL,
    "plan" VARCHAR(16) NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "webhook_attempts" INTEGER NOT NULL DEFAULT 0,
    "webhook_next_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "webhook_delivered_at" TIMESTAMPTZ(6),
    "webhook_failed_at" TIMESTAMPTZ(6),
    "webhook_last_error" VARCHAR(500),

    CONSTRAINT "wallet_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "idx_wallet_events_user_id" ON "wallet_events"("user_id", "id");

-- AddForeignKey
ALTER TABLE "room_credit_usage" ADD CONSTRAINT "room_credit_usage_room_id_fkey" FOREIGN KEY ("room_id") REFERENCES "rooms"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "wallet_events" ADD CONSTRAINT "wallet_events_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "credit_wallets"("user_id") ON DELETE CASCADE ON UPDATE CASCADE;


-- Hand-written from here.

ALTER TABLE "rooms" ADD CONSTRAINT "rooms_monthly_credit_budget_check" CHECK ("monthly_credit_budget" IS NULL OR "monthly_credit_budget" >= 0);
ALTER TABLE "credit_plans" ADD CONSTRAINT "credit_plans_low_balance_threshold_check" CHECK ("low_balance_threshold" >= 0);
ALTER TABLE "room_credit_usage" ADD CONSTRAINT "room_credit_usage_held_check" CHECK ("held" >= 0);

-- The webhook sender's queue: undelivered events only.
CREATE INDEX "idx_wallet_events_webhook_due" ON "wallet_events"("webhook_next_at") WHERE "webhook_delivered_at" IS NULL AND "webhook_failed_at" IS NULL;

-- The room's month so far, from the ledger (holds of running turns are not
-- counted for turns accepted before this migration: they have no room).
INSERT INTO "room_credit_usage" ("room_id", "period_start", "spent")
SELECT "room_id", date_trunc('month', now() AT TIME ZONE 'UTC')::date, sum("credits_burned")
  FROM "llm_call_events"
 WHERE "room_id" IS NOT NULL AND "created_at" >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
 GROUP BY "room_id";

-- Low balance (SPEC 13): the wallet's settled balance (allowance + granted;
-- holds excluded, so a running turn's reservation neither raises nor clears
-- it) crossing below its plan's threshold raises one event, written with the
-- change that crossed it; rising back to the threshold re-arms it. Every
-- change to a wallet locks its row, so crossings are seen one at a time.
CREATE FUNCTION "credit_wallet_low_balance"() RETURNS trigger
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

CREATE TRIGGER "credit_wallet_low_balance"
  BEFORE UPDATE OF "allowance", "granted", "plan" ON "credit_wallets"
  FOR EACH ROW EXECUTE FUNCTION "credit_wallet_low_balance"();

-- A turn's hold (SPEC 13) counted against its user's wallet and its room's
-- monthly budget, in the transaction that accepts it. With
-- `refuse_beyond_available`, a hold beyond either is not placed (`placed`
-- false, `refused_by` 'wallet' or 'room'; the caller rolls back). Locks are
-- taken wallet first, then the room's month, as every debit and release takes
-- them. Supersedes credit_hold_turn, which older instances still call during a
-- rolling deploy (their holds count against no room).
-- It runs on every send, so in as few statements as the rules allow: a wallet
-- already open this month is checked and held by one UPDATE (its WHERE is
-- rechecked on the row's newest version when a concurrent hold commits first,
-- so concurrent holds never exceed the balance), else through
-- credit_wallet_current; a room without a budget takes the hold in one upsert
-- of its month, a room with one is locked, checked and held.
CREATE FUNCTION "credit_hold_turn_in_room"(hold_user UUID, hold_turn UUID, hold_amount DECIMAL, default_plan VARCHAR, refuse_beyond_available BOOLEAN, hold_room UUID)
RETURNS TABLE ("placed" BOOLEAN, "refused_by" TEXT, "available_before" DECIMAL(20,4), "room_available_before" DECIMAL(20,4))
LANGUAGE plpgsql AS $$
DECLARE
  wallet "credit_wallets";
  available DECIMAL(20,4);
  current_period DATE := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
  budget DECIMAL(20,4);
  room_spent DECIMAL(20,4);
  room_held DECIMAL(20,4);
  room_available DECIMAL(20,4);
BEGIN
  -- The usual case: the wallet is open in this period; locked, checked and held in one statement.
  UPDATE "credit_wallets" AS w SET "held" = w."held" + hold_amount, "updated_at" = now()
   WHERE w."user_id" = hold_user AND w."period_start" = current_period
     AND (NOT refuse_beyond_available OR hold_amount <= w."allowance" + w."granted" - w."held")
  RETURNING * INTO wallet;
  IF NOT FOUND THEN
    -- A new wallet, a new month, or a refusal: as before, the wallet opened in its period and locked first.
    wallet := "credit_wallet_current"(hold_user, default_plan);
    available := wallet."allowance" + wallet."granted" - wallet."held";
    IF refuse_beyond_available AND hold_amount > available THEN
      RETURN QUERY SELECT false, 'wallet', available, NULL::DECIMAL(20,4);
      RETURN;
    END IF;
    UPDATE "credit_wallets" AS w SET "held" = w."held" + hold_amount, "updated_at" = now()
     WHERE w."user_id" = hold_user
    RETURNING * INTO wallet;
  END IF;
  available := wallet."allowance" + wallet."granted" - wallet."held" + hold_amount;
  IF hold_room IS NOT NULL THEN
    SELECT "monthly_credit_budget" INTO budget FROM "rooms" WHERE "id" = hold_room;
    IF budget IS NULL THEN
      -- Nothing to check: the month's row is locked and held in one write.
      INSERT INTO "room_credit_usage" AS r ("room_id", "period_start", "held") VALUES (hold_room, current_period, hold_amount)
      ON CONFLICT ("room_id", "period_start") DO UPDATE SET "held" = r."held" + EXCLUDED."held";
    ELSE
      INSERT INTO "room_credit_usage" ("room_id", "period_start") VALUES (hold_room, current_period) ON CONFLICT DO NOTHING;
      SELECT "spent" INTO room_spent FROM "room_credit_usage" WHERE "room_id" = hold_room AND "period_start" = current_period FOR UPDATE;
      SELECT sum("held") INTO room_held FROM "room_credit_usage" WHERE "room_id" = hold_room;
      room_available := budget - room_spent - room_held;
      IF refuse_beyond_available AND hold_amount > room_available THEN
        -- The wallet's hold goes back too, so a refusal changes nothing even before the caller rolls back.
        UPDATE "credit_wallets" AS w SET "held" = w."held" - hold_amount WHERE w."user_id" = hold_user;
        RETURN QUERY SELECT false, 'room', available, room_available;
        RETURN;
      END IF;
      UPDATE "room_credit_usage" AS r SET "held" = r."held" + hold_amount WHERE r."room_id" = hold_room AND r."period_start" = current_period;
    END IF;
  END IF;
  INSERT INTO "credit_holds" ("turn_id", "user_id", "amount", "remaining", "room_id", "room_period_start")
  VALUES (hold_turn, hold_user, hold_amount, hold_amount, hold_room, CASE WHEN hold_room IS NULL THEN NULL ELSE current_period END);
  INSERT INTO "credit_transactions" ("user_id", "kind", "amount", "balance_after", "initiated_by", "idempotency_key", "turn_id", "period_start")
  VALUES (hold_user, 'hold', hold_amount, wallet."allowance" + wallet."granted" - wallet."held", 'user:' || hold_user, 'hold:' || hold_turn, hold_turn, wallet."period_start");
  RETURN QUERY SELECT true, NULL::TEXT, available, room_available;
END;
$$;

-- As before (credits migration), and the row also counts in its room's month,
-- and what its hold settles leaves the room's held (in the same upsert when the
-- hold counts in that month, as every row of a turn but one spanning a month's
-- end does); a hold with nothing left to settle is not rewritten.
CREATE OR REPLACE FUNCTION "credit_debit_ledger_row"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  wallet "credit_wallets";
  hold "credit_holds";
  settled DECIMAL(20,4) := 0;
  settled_room_held DECIMAL(20,4) := 0;
  from_allowance DECIMAL(20,4);
  current_period DATE := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
BEGIN
  wallet := "credit_wallet_current"(NEW."user_id", NULL);
  IF NEW."turn_id" IS NOT NULL THEN
    SELECT * INTO hold FROM "credit_holds" WHERE "turn_id" = NEW."turn_id" AND "released_at" IS NULL FOR UPDATE;
    IF FOUND THEN
      settled := least(hold."remaining", NEW."credits_burned");
      IF settled > 0 THEN -- an exhausted hold is not rewritten
        UPDATE "credit_holds" AS h SET "remaining" = h."remaining" - settled WHERE h."turn_id" = NEW."turn_id";
      END IF;
    END IF;
  END IF;
  from_allowance := least(wallet."allowance", NEW."credits_burned");
  UPDATE "credit_wallets" AS w
     SET "allowance" = w."allowance" - from_allowance,
         "granted" = w."granted" - (NEW."credits_burned" - from_allowance),
         "held" = w."held" - settled,
         "updated_at" = now()
   WHERE w."user_id" = NEW."user_id"
  RETURNING * INTO wallet;
  INSERT INTO "credit_transactions" ("user_id", "kind", "amount", "from_hold", "balance_after", "initiated_by", "idempotency_key", "ledger_event_id", "turn_id", "period_start")
  VALUES (NEW."user_id", 'debit', NEW."credits_burned", settled, wallet."allowance" + wallet."granted" - wallet."held",
          'user:' || NEW."user_id", 'debit:' || NEW."id", NEW."id", NEW."turn_id", wallet."period_start");
  -- What the hold settles leaves its room's month: in the same write as the row's spend when that is the same month's row.
  IF settled > 0 AND hold."room_id" = NEW."room_id" AND hold."room_period_start" = current_period THEN
    settled_room_held := settled;
  END IF;
  IF NEW."room_id" IS NOT NULL THEN
    INSERT INTO "room_credit_usage" AS r ("room_id", "period_start", "spent") VALUES (NEW."room_id", current_period, NEW."credits_burned")
    ON CONFLICT ("room_id", "period_start") DO UPDATE SET "spent" = r."spent" + EXCLUDED."spent", "held" = r."held" - settled_room_held;
  END IF;
  IF settled > 0 AND hold."room_id" IS NOT NULL AND settled_room_held = 0 THEN
    UPDATE "room_credit_usage" AS r SET "held" = r."held" - settled WHERE r."room_id" = hold."room_id" AND r."period_start" = hold."room_period_start";
  END IF;
  RETURN NULL;
END;
$$;

-- As before (credits migration), and the rest of the hold leaves its room's held.
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
  VALUES (hold."user_id", 'release', hold."remaining", wallet."allowance" + wallet."granted" - wallet."held", 'system',
          'release:' || hold."turn_id", CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE hold."turn_id" END, wallet."period_start");
  RETURN NULL;
END;
$$;

-- As before (credits migration), and ops may grant without a user id (the CLI):
-- the transaction is then initiated by the actor's label.
CREATE OR REPLACE FUNCTION "credit_grant"(grant_user UUID, grant_kind "credit_transaction_kind", grant_amount DECIMAL, actor_id UUID, actor_label VARCHAR,
                                          grant_key VARCHAR, grant_note VARCHAR, default_plan VARCHAR)
RETURNS "credit_transactions"
LANGUAGE plpgsql AS $$
DECLARE
  wallet "credit_wallets";
  before_wallet "credit_wallets";
  recorded "credit_transactions";
  audit_id UUID := gen_random_uuid();
BEGIN
  IF grant_kind NOT IN ('grant', 'adjustment') THEN
    RAISE EXCEPTION 'credit_grant records grants and adjustments only' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  before_wallet := "credit_wallet_current"(grant_user, default_plan);
  SELECT * INTO recorded FROM "credit_transactions" WHERE "idempotency_key" = grant_key;
  IF FOUND THEN RETURN recorded; END IF;
  INSERT INTO "admin_audit_log" ("id", "actor_id", "actor", "action", "target", "before", "after")
  VALUES (audit_id, actor_id, actor_label, 'credits.' || grant_kind, 'user:' || grant_user,
          jsonb_build_object('granted', before_wallet."granted"::text),
          jsonb_build_object('granted', (before_wallet."granted" + grant_amount)::text, 'amount', grant_amount::text, 'note', grant_note));
  UPDATE "credit_wallets" AS w SET "granted" = w."granted" + grant_amount, "updated_at" = now()
   WHERE w."user_id" = grant_user
  RETURNING * INTO wallet;
  INSERT INTO "credit_transactions" ("user_id", "kind", "amount", "balance_after", "initiated_by", "idempotency_key", "admin_action_id", "period_start", "note")
  VALUES (grant_user, grant_kind, grant_amount, wallet."allowance" + wallet."granted" - wallet."held", coalesce('admin:' || actor_id, actor_label), grant_key, audit_id,
          wallet."period_start", grant_note)
  RETURNING * INTO recorded;
  RETURN recorded;
END;
$$;

-- An owner sets a user's plan (SRS FR-ADMIN-003), audited in the same
-- transaction. The new plan's allowance is granted from the next month; an
-- upgrade also tops up this month's allowance by the difference, once per
-- user, month and plan (so switching back and forth cannot mint credits). A
-- downgrade leaves this month's allowance as it is. Setting the current plan
-- changes nothing and audits nothing.
CREATE FUNCTION "credit_set_plan"(plan_user UUID, new_plan VARCHAR, actor_id UUID, actor_label VARCHAR, default_plan VARCHAR)
RETURNS "credit_wallets"
LANGUAGE plpgsql AS $$
DECLARE
  wallet "credit_wallets";
  old_allowance DECIMAL(20,4);
  new_allowance DECIMAL(20,4);
  top_up DECIMAL(20,4) := 0;
  audit_id UUID := gen_random_uuid();
BEGIN
  SELECT "monthly_allowance" INTO new_allowance FROM "credit_plans" WHERE "plan" = new_plan;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown credit plan %', new_plan USING ERRCODE = 'invalid_parameter_value';
  END IF;
  wallet := "credit_wallet_current"(plan_user, default_plan);
  IF wallet."plan" = new_plan THEN RETURN wallet; END IF;
  SELECT "monthly_allowance" INTO old_allowance FROM "credit_plans" WHERE "plan" = wallet."plan";
  INSERT INTO "admin_audit_log" ("id", "actor_id", "actor", "action", "target", "before", "after")
  VALUES (audit_id, actor_id, actor_label, 'credits.setPlan', 'user:' || plan_user, jsonb_build_object('plan', wallet."plan"), jsonb_build_object('plan', new_plan));
  IF new_allowance > old_allowance THEN
    INSERT INTO "credit_transactions" ("user_id", "kind", "amount", "balance_after", "initiated_by", "idempotency_key", "admin_action_id", "period_start", "note")
    VALUES (plan_user, 'plan_allowance', new_allowance - old_allowance, wallet."allowance" + (new_allowance - old_allowance) + wallet."granted" - wallet."held",
            coalesce('admin:' || actor_id, actor_label), 'allowance:' || plan_user || ':' || to_char(wallet."period_start", 'YYYY-MM') || ':' || new_plan, audit_id,
            wallet."period_start", 'Upgrade from ' || wallet."plan" || ' to ' || new_plan || ': this month''s allowance topped up by the difference.')
    ON CONFLICT ("idempotency_key") DO NOTHING;
    IF FOUND THEN top_up := new_allowance - old_allowance; END IF;
  END IF;
  UPDATE "credit_wallets" AS w SET "plan" = new_plan, "allowance" = w."allowance" + top_up, "updated_at" = now()
   WHERE w."user_id" = plan_user
  RETURNING * INTO wallet;
  RETURN wallet;
END;
$$;
