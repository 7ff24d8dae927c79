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
