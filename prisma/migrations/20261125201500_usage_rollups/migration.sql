-- CreateTable
CREATE TABLE "usage_daily_rollups" (
    "day" DATE NOT NULL,
    "user_id" UUID NOT NULL,
    "model_alias" VARCHAR(32) NOT NULL,
    "pricing_version" VARCHAR(32) NOT NULL,
    "calls" BIGINT NOT NULL,
    "error_calls" BIGINT NOT NULL,
    "input_tokens_fresh" BIGINT NOT NULL,
    "input_tokens_cached" BIGINT NOT NULL,
    "output_tokens" BIGINT NOT NULL,
    "total_tokens" BIGINT NOT NULL,
    "oe_tokens" DECIMAL(24,4) NOT NULL,
    "provider_cost_usd" DECIMAL(24,8) NOT NULL,
    "credits_burned" DECIMAL(24,4) NOT NULL,

    CONSTRAINT "usage_daily_rollups_pkey" PRIMARY KEY ("day","user_id","model_alias","pricing_version")
);

-- CreateTable
CREATE TABLE "user_activity_days" (
    "day" DATE NOT NULL,
    "user_id" UUID NOT NULL,

    CONSTRAINT "user_activity_days_pkey" PRIMARY KEY ("day","user_id")
);


-- Hand-written: extra ledger indexes for room- and direct-session-scoped usage
-- (SPEC section 4 allows indexes beyond the contract's).
CREATE INDEX "idx_llm_call_events_room_created_at" ON "llm_call_events"("room_id", "created_at")
  WHERE "room_id" IS NOT NULL;
CREATE INDEX "idx_llm_call_events_direct_session_created_at" ON "llm_call_events"("direct_session_id", "created_at")
  WHERE "direct_session_id" IS NOT NULL;

-- Hand-written: keeps usage_daily_rollups and user_activity_days in step with
-- the ledger, in the inserting transaction. Statement-level with a transition
-- table, so a multi-row insert (or COPY) costs one upsert per group, and rows
-- skipped by ON CONFLICT DO NOTHING (a retried request id) are never counted.
-- Days are UTC. Groups are applied in key order so concurrent writers lock
-- rollup rows in the same order.
CREATE FUNCTION "usage_rollups_apply"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "usage_daily_rollups" AS r (
    "day", "user_id", "model_alias", "pricing_version", "calls", "error_calls",
    "input_tokens_fresh", "input_tokens_cached", "output_tokens", "total_tokens",
    "oe_tokens", "provider_cost_usd", "credits_burned")
  SELECT ("created_at" AT TIME ZONE 'UTC')::date, "user_id", "model_alias", "pricing_version",
         count(*), count(*) FILTER (WHERE "status" <> 'success'),
         sum("input_tokens_fresh"), sum("input_tokens_cached"), sum("output_tokens"), sum("total_tokens"),
         sum("oe_tokens_computed"), sum("provider_cost_usd"), sum("credits_burned")
    FROM "inserted_rows"
   GROUP BY 1, 2, 3, 4
   ORDER BY 1, 2, 3, 4
  ON CONFLICT ("day", "user_id", "model_alias", "pricing_version") DO UPDATE SET
    "calls" = r."calls" + EXCLUDED."calls",
    "error_calls" = r."error_calls" + EXCLUDED."error_calls",
    "input_tokens_fresh" = r."input_tokens_fresh" + EXCLUDED."input_tokens_fresh",
    "input_tokens_cached" = r."input_tokens_cached" + EXCLUDED."input_tokens_cached",
    "output_tokens" = r."output_tokens" + EXCLUDED."output_tokens",
    "total_tokens" = r."total_tokens" + EXCLUDED."total_tokens",
    "oe_tokens" = r."oe_tokens" + EXCLUDED."oe_tokens",
    "provider_cost_usd" = r."provider_cost_usd" + EXCLUDED."provider_cost_usd",
    "credits_burned" = r."credits_burned" + EXCLUDED."credits_burned";

  INSERT INTO "user_activity_days" ("day", "user_id")
  SELECT DISTINCT ("created_at" AT TIME ZONE 'UTC')::date, "user_id" FROM "inserted_rows"
   ORDER BY 1, 2
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END;
$$;

-- Creating the trigger locks out concurrent ledger inserts until this
-- migration commits, so the backfill below sees every row exactly once.
CREATE TRIGGER "usage_rollups_apply"
  AFTER INSERT ON "llm_call_events"
  REFERENCING NEW TABLE AS "inserted_rows"
  FOR EACH STATEMENT EXECUTE FUNCTION "usage_rollups_apply"();

INSERT INTO "usage_daily_rollups" (
  "day", "user_id", "model_alias", "pricing_version", "calls", "error_calls",
  "input_tokens_fresh", "input_tokens_cached", "output_tokens", "total_tokens",
  "oe_tokens", "provider_cost_usd", "credits_burned")
SELECT ("created_at" AT TIME ZONE 'UTC')::date, "user_id", "model_alias", "pricing_version",
       count(*), count(*) FILTER (WHERE "status" <> 'success'),
       sum("input_tokens_fresh"), sum("input_tokens_cached"), sum("output_tokens"), sum("total_tokens"),
       sum("oe_tokens_computed"), sum("provider_cost_usd"), sum("credits_burned")
  FROM "llm_call_events"
 GROUP BY 1, 2, 3, 4;

INSERT INTO "user_activity_days" ("day", "user_id")
SELECT DISTINCT ("created_at" AT TIME ZONE 'UTC')::date, "user_id" FROM "llm_call_events";
