-- Credits (SPEC 13): plans, one wallet per user, append-only credit
-- transactions, and per-turn holds.

-- CreateEnum
CREATE TYPE "credit_transaction_kind" AS ENUM ('plan_allowance', 'grant', 'adjustment', 'debit', 'hold', 'release');

-- CreateTable
CREATE TABLE "credit_plans" (
    "plan" VARCHAR(16) NOT NULL,
    "monthly_allowance" DECIMAL(20,4) NOT NULL,

    CONSTRAINT "credit_plans_pkey" PRIMARY KEY ("plan")
);

-- CreateTable
CREATE TABLE "credit_wallets" (
    "user_id" UUID NOT NULL,
    "plan" VARCHAR(16) NOT NULL,
    "period_start" DATE,
    "allowance" DECIMAL(20,4) NOT NULL DEFAULT 0,
    "granted" DECIMAL(20,4) NOT NULL DEFAULT 0,
    "held" DECIMAL(20,4) NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "credit_wallets_pkey" PRIMARY KEY ("user_id")
);

-- CreateTable
CREATE TABLE "credit_transactions" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "user_id" UUID NOT NULL,
    "kind" "credit_transaction_kind" NOT NULL,
    "amount" DECIMAL(20,4) NOT NULL,
    "from_hold" DECIMAL(20,4) NOT NULL DEFAULT 0,
    "expired_allowance" DECIMAL(20,4) NOT NULL DEFAULT 0,
    "balance_after" DECIMAL(20,4) NOT NULL,
    "initiated_by" VARCHAR(120) NOT NULL,
    "idempotency_key" VARCHAR(200) NOT NULL,
    "ledger_event_id" UUID,
    "turn_id" UUID,
    "admin_action_id" UUID,
    "period_start" DATE,
    "note" VARCHAR(500),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "credit_transactions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "credit_holds" (
    "turn_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "amount" DECIMAL(20,4) NOT NULL,
    "remaining" DECIMAL(20,4) NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "released_at" TIMESTAMPTZ(6),

    CONSTRAINT "credit_holds_pkey" PRIMARY KEY ("turn_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "uq_credit_transactions_idempotency_key" ON "credit_transactions"("idempotency_key");

-- CreateIndex
CREATE UNIQUE INDEX "uq_credit_transactions_ledger_event_id" ON "credit_transactions"("ledger_event_id");

-- CreateIndex
CREATE INDEX "idx_credit_transactions_user_created_at" ON "credit_transactions"("user_id", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "idx_credit_transactions_turn_id" ON "credit_transactions"("turn_id");

-- AddForeignKey
ALTER TABLE "credit_wallets" ADD CONSTRAINT "credit_wallets_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_wallets" ADD CONSTRAINT "credit_wallets_plan_fkey" FOREIGN KEY ("plan") REFERENCES "credit_plans"("plan") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_transactions" ADD CONSTRAINT "credit_transactions_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_transactions" ADD CONSTRAINT "credit_transactions_ledger_event_id_fkey" FOREIGN KEY ("ledger_event_id") REFERENCES "llm_call_events"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_transactions" ADD CONSTRAINT "credit_transactions_turn_id_fkey" FOREIGN KEY ("turn_id") REFERENCES "turns"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_transactions" ADD CONSTRAINT "credit_transactions_admin_action_id_fkey" FOREIGN KEY ("admin_action_id") REFERENCES "admin_audit_log"("id") ON DELETE RESTRICT ON UPDATE CASCADE;


-- Hand-written from here.

INSERT INTO "credit_plans" ("plan", "monthly_allowance") VALUES ('starter', 495), ('pro', 1980), ('power', 4180);

ALTER TABLE "credit_wallets" ADD CONSTRAINT "credit_wallets_amounts_check" CHECK ("allowance" >= 0 AND "held" >= 0);
ALTER TABLE "credit_transactions" ADD CONSTRAINT "credit_transactions_amount_check" CHECK ("amount" >= 0 OR "kind" = 'adjustment');
ALTER TABLE "credit_holds" ADD CONSTRAINT "credit_holds_amounts_check" CHECK ("remaining" >= 0 AND "remaining" <= "amount");

-- Credit transactions are never edited or removed.
CREATE FUNCTION "credit_transactions_append_only"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW IS NOT DISTINCT FROM OLD THEN RETURN NEW; END IF;
  IF TG_OP = 'UPDATE' AND (to_jsonb(NEW) - 'turn_id') = (to_jsonb(OLD) - 'turn_id') AND NEW."turn_id" IS NULL THEN
    RETURN NEW; -- a deleted turn detaches its transactions (ON DELETE SET NULL)
  END IF;
  RAISE EXCEPTION 'credit_transactions is append-only' USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
CREATE TRIGGER "credit_transactions_append_only"
  BEFORE UPDATE OR DELETE ON "credit_transactions"
  FOR EACH ROW EXECUTE FUNCTION "credit_transactions_append_only"();

-- The user's wallet, locked for this transaction, in the current period: a
-- wallet is opened on `default_plan` (Starter when NULL) at first activity,
-- and each calendar month (UTC) its plan allowance is granted once, the
-- previous month's unspent allowance lapsing. The idempotency key makes a
-- second grant for one user and month impossible, whatever races.
CREATE FUNCTION "credit_wallet_current"(wallet_user UUID, default_plan VARCHAR) RETURNS "credit_wallets"
LANGUAGE plpgsql AS $$
DECLARE
  wallet "credit_wallets";
  current_period DATE := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
  plan_allowance DECIMAL(20,4);
  granted_now BOOLEAN;
BEGIN
  SELECT * INTO wallet FROM "credit_wallets" WHERE "user_id" = wallet_user FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO "credit_wallets" ("user_id", "plan") VALUES (wallet_user, coalesce(default_plan, 'starter')) ON CONFLICT ("user_id") DO NOTHING;
    SELECT * INTO wallet FROM "credit_wallets" WHERE "user_id" = wallet_user FOR UPDATE;
  END IF;
  IF wallet."period_start" IS DISTINCT FROM current_period THEN
    SELECT "monthly_allowance" INTO plan_allowance FROM "credit_plans" WHERE "plan" = wallet."plan";
    INSERT INTO "credit_transactions" ("user_id", "kind", "amount", "expired_allowance", "balance_after", "initiated_by", "idempotency_key", "period_start")
    VALUES (wallet_user, 'plan_allowance', plan_allowance, wallet."allowance", plan_allowance + wallet."granted" - wallet."held", 'system',
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

-- Accepting a turn holds the turn's upper bound in the accepting transaction
-- (SPEC 13). With `refuse_beyond_available`, a hold larger than what is
-- available is not placed and `placed` is false (the caller rolls back).
-- Concurrent accepts for one user serialize on the wallet row, so together
-- they never hold more than the balance.
CREATE FUNCTION "credit_hold_turn"(hold_user UUID, hold_turn UUID, hold_amount DECIMAL, default_plan VARCHAR, refuse_beyond_available BOOLEAN)
RETURNS TABLE ("placed" BOOLEAN, "available_before" DECIMAL(20,4))
LANGUAGE plpgsql AS $$
DECLARE
  wallet "credit_wallets";
  available DECIMAL(20,4);
BEGIN
  wallet := "credit_wallet_current"(hold_user, default_plan);
  available := wallet."allowance" + wallet."granted" - wallet."held";
  IF refuse_beyond_available AND hold_amount > available THEN
    RETURN QUERY SELECT false, available;
    RETURN;
  END IF;
  INSERT INTO "credit_holds" ("turn_id", "user_id", "amount", "remaining") VALUES (hold_turn, hold_user, hold_amount, hold_amount);
  UPDATE "credit_wallets" AS w SET "held" = w."held" + hold_amount, "updated_at" = now()
   WHERE w."user_id" = hold_user
  RETURNING * INTO wallet;
  INSERT INTO "credit_transactions" ("user_id", "kind", "amount", "balance_after", "initiated_by", "idempotency_key", "turn_id", "period_start")
  VALUES (hold_user, 'hold', hold_amount, wallet."allowance" + wallet."granted" - wallet."held", 'user:' || hold_user, 'hold:' || hold_turn, hold_turn, wallet."period_start");
  RETURN QUERY SELECT true, available;
END;
$$;

-- An owner's grant or adjustment (SPEC 13), audited in the same transaction.
-- The key is the owner's: a retried request finds its first transaction and
-- changes nothing (the caller checks it is the same request).
CREATE FUNCTION "credit_grant"(grant_user UUID, grant_kind "credit_transaction_kind", grant_amount DECIMAL, actor_id UUID, actor_label VARCHAR,
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
  VALUES (grant_user, grant_kind, grant_amount, wallet."allowance" + wallet."granted" - wallet."held", 'admin:' || actor_id, grant_key, audit_id, wallet."period_start", grant_note)
  RETURNING * INTO recorded;
  RETURN recorded;
END;
$$;

-- Every ledger row debits its user in the inserting transaction, once (the
-- debit's key is the row's id; a row skipped by ON CONFLICT DO NOTHING fires
-- nothing). A row of a turn with a hold settles against it first; the debit
-- draws from the allowance, then from granted credits.
CREATE FUNCTION "credit_debit_ledger_row"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  wallet "credit_wallets";
  hold_remaining DECIMAL(20,4);
  settled DECIMAL(20,4) := 0;
  from_allowance DECIMAL(20,4);
BEGIN
  wallet := "credit_wallet_current"(NEW."user_id", NULL);
  IF NEW."turn_id" IS NOT NULL THEN
    SELECT "remaining" INTO hold_remaining FROM "credit_holds" WHERE "turn_id" = NEW."turn_id" AND "released_at" IS NULL FOR UPDATE;
    IF FOUND THEN
      settled := least(hold_remaining, NEW."credits_burned");
      UPDATE "credit_holds" AS h SET "remaining" = h."remaining" - settled WHERE h."turn_id" = NEW."turn_id";
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
  RETURN NULL;
END;
$$;

CREATE TRIGGER "credit_debit_ledger_row"
  AFTER INSERT ON "llm_call_events"
  FOR EACH ROW EXECUTE FUNCTION "credit_debit_ledger_row"();

-- A turn's end (however it ends: by its owner, a lapsed lease, a shutdown,
-- or its session's deletion) releases what is left of its hold. The wallet is
-- locked before the hold, in the order a debit takes them, so a debit replayed
-- late and its turn's end never deadlock.
CREATE FUNCTION "credit_release_turn_hold"() RETURNS trigger
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

CREATE TRIGGER "credit_release_turn_hold_on_end"
  AFTER UPDATE OF "status" ON "turns"
  FOR EACH ROW WHEN (OLD."status" = 'running' AND NEW."status" <> 'running')
  EXECUTE FUNCTION "credit_release_turn_hold"();

CREATE TRIGGER "credit_release_turn_hold_on_delete"
  AFTER DELETE ON "turns"
  FOR EACH ROW WHEN (OLD."status" = 'running')
  EXECUTE FUNCTION "credit_release_turn_hold"();

-- Usage from before credits existed: each user gets a wallet (no allowance
-- yet: it is granted at their first activity), one debit per existing ledger
-- row, and one opening adjustment of the same total, so every ledger row has
-- its debit and nobody starts in debt.
INSERT INTO "credit_wallets" ("user_id", "plan")
SELECT DISTINCT "user_id", 'starter' FROM "llm_call_events";

INSERT INTO "credit_transactions" ("user_id", "kind", "amount", "balance_after", "initiated_by", "idempotency_key", "note")
SELECT "user_id", 'adjustment', sum("credits_burned"), sum("credits_burned"), 'system', 'opening:' || "user_id", 'Usage metered before credit wallets existed.'
  FROM "llm_call_events" GROUP BY "user_id";

INSERT INTO "credit_transactions" ("user_id", "kind", "amount", "balance_after", "initiated_by", "idempotency_key", "ledger_event_id", "turn_id", "created_at")
SELECT "user_id", 'debit', "credits_burned",
       sum("credits_burned") OVER (PARTITION BY "user_id") - sum("credits_burned") OVER (PARTITION BY "user_id" ORDER BY "created_at", "id"),
       'user:' || "user_id", 'debit:' || "id", "id", "turn_id", "created_at"
  FROM "llm_call_events";
