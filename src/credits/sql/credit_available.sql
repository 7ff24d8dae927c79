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
