-- Hand-written: the money columns that may never go below zero take a domain
-- instead of table CHECKs. The guarantee is the same (a write of a negative
-- amount fails with check_violation, 23514), but the cost is not: PostgreSQL
-- parses and plans a table's CHECKs again in every statement that writes the
-- table, while a domain's constraint is cached across statements. Each call
-- of a turn writes all four tables (its hold, its debit; docs/development.md,
-- "The money columns' non-negative check is a domain"). The wire type stays numeric (PostgreSQL sends a
-- domain column as its base type), so Prisma and pg read them unchanged.

-- Without a constraint, changing a column to a domain over its own type
-- rewrites nothing; adding the constraint afterwards only checks the rows,
-- which the table CHECKs dropped below already kept non-negative.
CREATE DOMAIN "nonnegative_credits" AS DECIMAL(20,4);

-- A trigger that names a column blocks changing its type: the low-balance
-- trigger is dropped and created again as it was (credit controls migration).
DROP TRIGGER "credit_wallet_low_balance" ON "credit_wallets";

ALTER TABLE "credit_wallets"
  ALTER COLUMN "allowance" TYPE "nonnegative_credits",
  ALTER COLUMN "held" TYPE "nonnegative_credits";
CREATE TRIGGER "credit_wallet_low_balance"
  BEFORE UPDATE OF "allowance", "granted", "plan" ON "credit_wallets"
  FOR EACH ROW EXECUTE FUNCTION "credit_wallet_low_balance"();

ALTER TABLE "credit_transactions" ALTER COLUMN "released" TYPE "nonnegative_credits";
ALTER TABLE "credit_holds" ALTER COLUMN "remaining" TYPE "nonnegative_credits";
ALTER TABLE "room_credit_usage" ALTER COLUMN "held" TYPE "nonnegative_credits";

ALTER DOMAIN "nonnegative_credits" ADD CONSTRAINT "nonnegative_credits_check" CHECK (VALUE >= 0);

ALTER TABLE "credit_wallets" DROP CONSTRAINT "credit_wallets_amounts_check";
ALTER TABLE "credit_transactions" DROP CONSTRAINT "credit_transactions_released_check";
ALTER TABLE "room_credit_usage" DROP CONSTRAINT "room_credit_usage_held_check";
-- remaining >= 0 is the domain's; remaining <= amount spans two columns and stays a table CHECK.
ALTER TABLE "credit_holds" DROP CONSTRAINT "credit_holds_amounts_check";
ALTER TABLE "credit_holds" ADD CONSTRAINT "credit_holds_remaining_check" CHECK ("remaining" <= "amount");
