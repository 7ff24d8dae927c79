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
