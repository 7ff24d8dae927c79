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
