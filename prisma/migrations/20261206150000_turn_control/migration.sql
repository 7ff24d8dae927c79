-- Turn control (SPEC 16): orchestrator rounds within per-room limits, the
-- manager's continue-or-stop step, and a stop button.

-- AlterEnum
ALTER TYPE "step_kind" ADD VALUE 'manager_continue';

-- AlterTable
ALTER TABLE "rooms" ADD COLUMN     "max_invocations" SMALLINT NOT NULL DEFAULT 12,
ADD COLUMN     "max_per_agent" SMALLINT NOT NULL DEFAULT 3,
ADD COLUMN     "max_rounds" SMALLINT NOT NULL DEFAULT 3,
ADD COLUMN     "turn_time_limit_seconds" INTEGER NOT NULL DEFAULT 600;

-- AlterTable
ALTER TABLE "turns" ADD COLUMN     "cancel_requested_at" TIMESTAMPTZ(6);

-- AlterTable
ALTER TABLE "turn_steps" ADD COLUMN     "round" SMALLINT NOT NULL DEFAULT 1;



-- Hand-written from here.

-- The ranges an owner may set (src/turns/turnLimits.ts says the same).
ALTER TABLE "rooms" ADD CONSTRAINT "rooms_turn_limits_check" CHECK (
    "max_rounds" BETWEEN 1 AND 10
    AND "max_invocations" BETWEEN 1 AND 50
    AND "max_per_agent" BETWEEN 1 AND 10
    AND "turn_time_limit_seconds" BETWEEN 10 AND 3600);
