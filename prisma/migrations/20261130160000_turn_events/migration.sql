-- CreateTable
CREATE TABLE "turn_events" (
    "turn_id" UUID NOT NULL,
    "sequence" INTEGER NOT NULL,
    "type" VARCHAR(32) NOT NULL,
    "payload" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "turn_events_pkey" PRIMARY KEY ("turn_id","sequence")
);

-- AddForeignKey
ALTER TABLE "turn_events" ADD CONSTRAINT "turn_events_turn_id_fkey" FOREIGN KEY ("turn_id") REFERENCES "turns"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- Existing turns get the events their timeline had, numbered as the server numbers them now:
-- TurnStarted 1, each step n StepStarted 2n and StepCompleted 2n + 1, the ending after the last
-- step (times 100000, see schema.prisma). Usage is summed from the ledger, as live events carry it.
CREATE FUNCTION pg_temp.usage_of(rows_turn uuid, rows_step uuid) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'calls', count(*),
    'inputTokensFresh', coalesce(sum(input_tokens_fresh), 0),
    'inputTokensCached', coalesce(sum(input_tokens_cached), 0),
    'outputTokens', coalesce(sum(output_tokens), 0),
    'totalTokens', coalesce(sum(total_tokens), 0),
    'credits', coalesce(sum(credits_burned), 0)::numeric(20,4)::text,
    'providerCostUsd', coalesce(sum(provider_cost_usd), 0)::numeric(20,8)::text)
  FROM llm_call_events WHERE turn_id = rows_turn AND (rows_step IS NULL OR step_id = rows_step)
$$;

INSERT INTO "turn_events" ("turn_id", "sequence", "type", "payload", "created_at")
SELECT t.id, 100000, 'TurnStarted', jsonb_build_object('mode', t.mode, 'roster', t.roster_snapshot), t.started_at FROM turns t;

INSERT INTO "turn_events" ("turn_id", "sequence", "type", "payload", "created_at")
SELECT s.turn_id, 2 * row_number() OVER w * 100000, 'StepStarted',
       jsonb_build_object('stepId', s.id, 'stepSeq', s.seq, 'kind', s.kind, 'agentKey', s.agent_key, 'modelAlias', s.model_alias), s.started_at
  FROM turn_steps s WINDOW w AS (PARTITION BY s.turn_id ORDER BY s.seq);

INSERT INTO "turn_events" ("turn_id", "sequence", "type", "payload", "created_at")
SELECT numbered.turn_id, (2 * numbered.n + 1) * 100000, 'StepCompleted',
       jsonb_build_object('stepId', numbered.id, 'status', numbered.status, 'output', numbered.output, 'error', numbered.error,
                          'usage', pg_temp.usage_of(numbered.turn_id, numbered.id)),
       coalesce(numbered.completed_at, numbered.updated_at)
  FROM (SELECT s.*, row_number() OVER (PARTITION BY s.turn_id ORDER BY s.seq) AS n FROM turn_steps s) numbered
 WHERE numbered.status <> 'running';

INSERT INTO "turn_events" ("turn_id", "sequence", "type", "payload", "created_at")
SELECT t.id, (2 * (SELECT count(*) FROM turn_steps s WHERE s.turn_id = t.id) + 2) * 100000,
       CASE WHEN t.status = 'failed' THEN 'TurnFailed' ELSE 'TurnCompleted' END,
       jsonb_build_object('status', t.status, 'error', coalesce(t.error, 'The turn failed.'), 'usage', pg_temp.usage_of(t.id, NULL)),
       coalesce(t.completed_at, t.updated_at)
  FROM turns t WHERE t.status <> 'running';
