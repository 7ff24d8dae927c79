-- Per-call holds (SPEC 14) and stop reasons (SPEC 16): a turn holds the
-- provable bound of each provider call before it starts, instead of its
-- whole worst case at accept; every ended turn says why it ended.

-- CreateEnum
CREATE TYPE "turn_stop_reason" AS ENUM ('done', 'max_rounds', 'max_invocations', 'budget', 'loop', 'timeout', 'cancelled', 'interrupted', 'error');

-- AlterTable
ALTER TABLE "turns" ADD COLUMN     "stop_reason" "turn_stop_reason";

-- AlterTable
ALTER TABLE "llm_call_events" ADD COLUMN     "bound_input_tokens" INTEGER,
ADD COLUMN     "bound_output_tokens" INTEGER,
ADD COLUMN     "exceeds_bound" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "hold_credits" DECIMAL(20,4);

-- AlterTable
ALTER TABLE "credit_transactions" ADD COLUMN     "released" DECIMAL(20,4) NOT NULL DEFAULT 0;


-- Hand-written from here.

-- Owners list the calls whose provider report exceeded their bound.
CREATE INDEX "idx_llm_call_events_exceeds_bound" ON "llm_call_events"("created_at") WHERE "exceeds_bound";

ALTER TABLE "credit_transactions" ADD CONSTRAINT "credit_transactions_released_check" CHECK ("released" >= 0);

-- The holds still held: the lease sweep looks among them for stale ones (credit_release_stale_holds).
CREATE INDEX "idx_credit_holds_open" ON "credit_holds"("created_at") WHERE "released_at" IS NULL;

-- Why each turn that already ended ended, by the rules the turn engine now
-- applies itself; and the same rule for an ending written without a reason
-- (an instance of the previous release during a rolling deploy, or a turn
-- inserted already ended), so a turn is never ended without one.
UPDATE "turns" SET "stop_reason" = CASE
    WHEN "error" LIKE 'Interrupted:%' THEN 'interrupted'::"turn_stop_reason"
    WHEN "error" = 'The turn stopped because of an internal error.' THEN 'error'::"turn_stop_reason"
    ELSE 'done'::"turn_stop_reason" END
 WHERE "status" <> 'running';

CREATE FUNCTION "turns_default_stop_reason"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW."stop_reason" := CASE
    WHEN NEW."error" LIKE 'Interrupted:%' THEN 'interrupted'::"turn_stop_reason"
    WHEN NEW."error" = 'The turn stopped because of an internal error.' THEN 'error'::"turn_stop_reason"
    ELSE 'done'::"turn_stop_reason" END;
  RETURN NEW;
END;
$$;

CREATE TRIGGER "turns_default_stop_reason"
  BEFORE INSERT OR UPDATE OF "status" ON "turns"
  FOR EACH ROW WHEN (NEW."status" <> 'running' AND NEW."stop_reason" IS NULL)
  EXECUTE FUNCTION "turns_default_stop_reason"();

-- Kept ending events carry the reason too (replays show what live streams show).
UPDATE "turn_events" e SET "payload" = e."payload" || jsonb_build_object('stopReason', t."stop_reason")
  FROM "turns" t
 WHERE t."id" = e."turn_id" AND e."type" IN ('TurnCompleted', 'TurnFailed') AND t."stop_reason" IS NOT NULL;

ALTER TABLE "turns" ADD CONSTRAINT "turns_stop_reason_check" CHECK (("status" = 'running') = ("stop_reason" IS NULL));

-- The whole-turn hold of two releases ago has no caller left.
DROP FUNCTION "credit_hold_turn"(UUID, UUID, DECIMAL, VARCHAR, BOOLEAN);

-- The credit functions, each exactly as src/credits/sql/ defines it.

-- What a wallet may still hold or spend (SPEC 13): this month's allowance and
-- the granted credits, less what running calls hold. The one place the
-- formula is written: every function, trigger and read uses it, on a wallet
-- row or on the three amounts (a wallet as it would open).
CREATE OR REPLACE FUNCTION "credit_available"(allowance DECIMAL, granted DECIMAL, held DECIMAL) RETURNS DECIMAL(20,4)
LANGUAGE sql IMMUTABLE AS $$
  SELECT allowance + granted - held
$$;

CREATE OR REPLACE FUNCTION "credit_available"(wallet "credit_wallets") RETURNS DECIMAL(20,4)
LANGUAGE sql IMMUTABLE AS $$
  SELECT "credit_available"(wallet."allowance", wallet."granted", wallet."held")
$$;

-- What is left of a room's monthly budget (SPEC 13): the budget, less what the
-- room's ledger rows spent this month (UTC) and what its running calls hold
-- (of any month). NULL when the room has no budget.
CREATE OR REPLACE FUNCTION "credit_room_available"(room UUID) RETURNS DECIMAL(20,4)
LANGUAGE sql STABLE AS $$
  SELECT r."monthly_credit_budget"
         - coalesce((SELECT sum(u."spent") FROM "room_credit_usage" u
                      WHERE u."room_id" = r."id" AND u."period_start" = date_trunc('month', now() AT TIME ZONE 'UTC')::date), 0)
         - coalesce((SELECT sum(u."held") FROM "room_credit_usage" u WHERE u."room_id" = r."id"), 0)
    FROM "rooms" r WHERE r."id" = room
$$;

-- The user's wallet, locked for this transaction, in the current period: a
-- wallet is opened on `default_plan` (Starter when NULL) at first activity,
-- and each calendar month (UTC) its plan allowance is granted once, the
-- previous month's unspent allowance lapsing. The idempotency key makes a
-- second grant for one user and month impossible, whatever races.
CREATE OR REPLACE FUNCTION "credit_wallet_current"(wallet_user UUID, default_plan VARCHAR) RETURNS "credit_wallets"
LANGUAGE plpgsql AS $$
DECLARE
  wallet "credit_wallets";
  current_period DATE := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
  plan_allowance DECIMAL(20,4);
  granted_now BOOLEAN;
  opened "credit_wallets";
BEGIN
  SELECT * INTO wallet FROM "credit_wallets" WHERE "user_id" = wallet_user FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO "credit_wallets" ("user_id", "plan") VALUES (wallet_user, coalesce(default_plan, 'starter')) ON CONFLICT ("user_id") DO NOTHING;
    SELECT * INTO wallet FROM "credit_wallets" WHERE "user_id" = wallet_user FOR UPDATE;
  END IF;
  IF wallet."period_start" IS DISTINCT FROM current_period THEN
    SELECT "monthly_allowance" INTO plan_allowance FROM "credit_plans" WHERE "plan" = wallet."plan";
    opened := wallet;
    opened."allowance" := plan_allowance;
    INSERT INTO "credit_transactions" ("user_id", "kind", "amount", "expired_allowance", "balance_after", "initiated_by", "idempotency_key", "period_start")
    VALUES (wallet_user, 'plan_allowance', plan_allowance, wallet."allowance", "credit_available"(opened), 'system',
            'allowance:' || wallet_user || ':' || to_char(current_period, 'YYYY-MM'), current_period)
    ON CONFLICT ("idempotency_key") DO NOTHING;
    granted_now := FOUND;
    UPDATE "credit_wallets" AS w
       SET "period_start" = current_period,
           "allowance" = CASE WHEN granted_now THEN plan_allowance ELSE w."allowance" END,
           "updated_at" = now()
     WHERE w."user_id" = wallet_user
    RETURNING * INTO wallet;
  END IF;
  RETURN wallet;
END;
$$;

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

-- The whole-turn hold of the previous release, kept for its instances while a
-- rolling deploy replaces them: one hold of `hold_amount` (all or nothing),
-- placed as the first call's hold of the turn (credit_hold_call).
CREATE OR REPLACE FUNCTION "credit_hold_turn_in_room"(hold_user UUID, hold_turn UUID, hold_amount DECIMAL, default_plan VARCHAR, refuse_beyond_available BOOLEAN, hold_room UUID)
RETURNS TABLE ("placed" BOOLEAN, "refused_by" TEXT, "available_before" DECIMAL(20,4), "room_available_before" DECIMAL(20,4))
LANGUAGE sql AS $$
  SELECT h."placed", h."refused_by", h."available_before", h."room_available_before"
    FROM "credit_hold_call"(hold_user, hold_turn, hold_amount, hold_amount, default_plan, refuse_beyond_available, hold_room, true) h
$$;

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

-- Releases what a hold still holds, once: its wallet's held and its room's
-- month go down by it and a 'release' entry records it. A turn's hold is
-- released when the turn ends (credit_release_turn_hold), a metered
-- preview's when its call's row is recorded (releaseHold in
-- credits/callHolds.ts), and a preview's that was never released (its
-- process died) by credit_release_stale_holds. The wallet is locked before
-- the hold, in the order a debit takes them, so a debit replayed late and a
-- release never deadlock.
CREATE OR REPLACE FUNCTION "credit_release_hold"(hold_key UUID, hold_user UUID, turn_deleted BOOLEAN) RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
  hold "credit_holds";
  wallet "credit_wallets";
BEGIN
  IF NOT EXISTS (SELECT 1 FROM "credit_holds" WHERE "turn_id" = hold_key AND "released_at" IS NULL) THEN RETURN; END IF;
  PERFORM 1 FROM "credit_wallets" WHERE "user_id" = hold_user FOR UPDATE;
  SELECT * INTO hold FROM "credit_holds" WHERE "turn_id" = hold_key AND "released_at" IS NULL FOR UPDATE;
  IF NOT FOUND THEN RETURN; END IF;
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
END;
$$;

-- Holds nobody will release any more: a metered preview's whose process died
-- between its hold and its release. A hold older than `older_than` whose key
-- is no running turn is released (a turn's hold is released when the turn
-- ends, and a running turn keeps its own). Returns how many were released.
CREATE OR REPLACE FUNCTION "credit_release_stale_holds"(older_than INTERVAL) RETURNS INTEGER
LANGUAGE plpgsql AS $$
DECLARE
  stale RECORD;
  released INTEGER := 0;
BEGIN
  FOR stale IN
    SELECT h."turn_id", h."user_id" FROM "credit_holds" h
     WHERE h."released_at" IS NULL AND h."created_at" < now() - older_than
       AND NOT EXISTS (SELECT 1 FROM "turns" t WHERE t."id" = h."turn_id" AND t."status" = 'running')
  LOOP
    PERFORM "credit_release_hold"(stale."turn_id", stale."user_id", false);
    released := released + 1;
  END LOOP;
  RETURN released;
END;
$$;

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

-- An owner's grant or adjustment (SPEC 13), audited in the same transaction.
-- The key is the owner's: a retried request finds its first transaction and
-- changes nothing (the caller checks it is the same request). Ops may grant
-- without a user id (the CLI): the transaction is then initiated by the
-- actor's label. An adjustment may not take what the wallet has available
-- below zero unless the owner says so (`allow_negative`): it is refused with
-- check_violation on the constraint name credit_available_not_negative, and
-- nothing is written. Granted credits may go negative by an adjustment
-- (credits taken back beyond what was granted), available only with consent.
CREATE OR REPLACE FUNCTION "credit_grant"(grant_user UUID, grant_kind "credit_transaction_kind", grant_amount DECIMAL, actor_id UUID, actor_label VARCHAR,
                                          grant_key VARCHAR, grant_note VARCHAR, default_plan VARCHAR, allow_negative BOOLEAN)
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
  IF grant_amount < 0 AND NOT allow_negative AND "credit_available"(before_wallet) + grant_amount < 0 THEN
    RAISE EXCEPTION 'the adjustment would take available credits to %, below zero', "credit_available"(before_wallet) + grant_amount
      USING ERRCODE = 'check_violation', CONSTRAINT = 'credit_available_not_negative';
  END IF;
  INSERT INTO "admin_audit_log" ("id", "actor_id", "actor", "action", "target", "before", "after")
  VALUES (audit_id, actor_id, actor_label, 'credits.' || grant_kind, 'user:' || grant_user,
          jsonb_build_object('granted', before_wallet."granted"::text),
          jsonb_build_object('granted', (before_wallet."granted" + grant_amount)::text, 'amount', grant_amount::text, 'note', grant_note));
  UPDATE "credit_wallets" AS w SET "granted" = w."granted" + grant_amount, "updated_at" = now()
   WHERE w."user_id" = grant_user
  RETURNING * INTO wallet;
  INSERT INTO "credit_transactions" ("user_id", "kind", "amount", "balance_after", "initiated_by", "idempotency_key", "admin_action_id", "period_start", "note")
  VALUES (grant_user, grant_kind, grant_amount, "credit_available"(wallet), coalesce('admin:' || actor_id, actor_label), grant_key, audit_id,
          wallet."period_start", grant_note)
  RETURNING * INTO recorded;
  RETURN recorded;
END;
$$;

-- The previous release's signature, for its instances during a rolling deploy (they had no rule on negative balances).
CREATE OR REPLACE FUNCTION "credit_grant"(grant_user UUID, grant_kind "credit_transaction_kind", grant_amount DECIMAL, actor_id UUID, actor_label VARCHAR,
                                          grant_key VARCHAR, grant_note VARCHAR, default_plan VARCHAR)
RETURNS "credit_transactions"
LANGUAGE sql AS $$
  SELECT * FROM "credit_grant"(grant_user, grant_kind, grant_amount, actor_id, actor_label, grant_key, grant_note, default_plan, true)
$$;

-- An owner sets a user's plan (SRS FR-ADMIN-003), audited in the same
-- transaction. The new plan's allowance is granted from the next month; an
-- upgrade also tops up this month's allowance by the difference, once per
-- user, month and plan (so switching back and forth cannot mint credits). A
-- downgrade leaves this month's allowance as it is. Setting the current plan
-- changes nothing and audits nothing.
CREATE OR REPLACE FUNCTION "credit_set_plan"(plan_user UUID, new_plan VARCHAR, actor_id UUID, actor_label VARCHAR, default_plan VARCHAR)
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
    VALUES (plan_user, 'plan_allowance', new_allowance - old_allowance, "credit_available"(wallet) + (new_allowance - old_allowance),
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

