-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "room_mode" AS ENUM ('manual', 'roundtable', 'orchestrator');

-- CreateEnum
CREATE TYPE "turn_mode" AS ENUM ('manual', 'roundtable', 'orchestrator', 'direct');

-- CreateEnum
CREATE TYPE "model_alias" AS ENUM ('llama', 'qwen', 'deepseek', 'gpt_oss', 'premium');

-- CreateEnum
CREATE TYPE "tool_permission" AS ENUM ('search', 'file_read');

-- CreateEnum
CREATE TYPE "admin_role" AS ENUM ('owner', 'analyst');

-- CreateEnum
CREATE TYPE "turn_status" AS ENUM ('running', 'completed', 'partial', 'failed');

-- CreateEnum
CREATE TYPE "step_kind" AS ENUM ('agent', 'manager_route', 'manager_synthesis');

-- CreateEnum
CREATE TYPE "step_status" AS ENUM ('running', 'completed', 'failed');

-- CreateEnum
CREATE TYPE "message_role" AS ENUM ('user', 'agent', 'synthesis', 'summary');

-- CreateEnum
CREATE TYPE "message_visibility" AS ENUM ('shared', 'private');

-- CreateTable
CREATE TABLE "users" (
    "id" UUID NOT NULL,
    "email" VARCHAR(320),
    "admin_role" "admin_role",
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "agents" (
    "id" UUID NOT NULL,
    "owner_id" UUID NOT NULL,
    "agent_key" VARCHAR(32) NOT NULL,
    "name" VARCHAR(120) NOT NULL,
    "model_alias" "model_alias" NOT NULL,
    "role_prompt" TEXT NOT NULL DEFAULT '',
    "tool_permissions" "tool_permission"[] DEFAULT ARRAY[]::"tool_permission"[],
    "deleted_at" TIMESTAMPTZ(6),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "agents_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "rooms" (
    "id" UUID NOT NULL,
    "owner_id" UUID NOT NULL,
    "name" VARCHAR(120) NOT NULL,
    "goal" TEXT NOT NULL DEFAULT '',
    "current_mode" "room_mode" NOT NULL DEFAULT 'manual',
    "pending_mode" "room_mode",
    "deleted_at" TIMESTAMPTZ(6),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "rooms_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "room_agents" (
    "id" UUID NOT NULL,
    "room_id" UUID NOT NULL,
    "agent_id" UUID NOT NULL,
    "position" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "room_agents_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sessions" (
    "id" UUID NOT NULL,
    "owner_id" UUID NOT NULL,
    "room_id" UUID,
    "agent_id" UUID,
    "title" VARCHAR(200),
    "deleted_at" TIMESTAMPTZ(6),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sessions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "turns" (
    "id" UUID NOT NULL,
    "session_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "seq" INTEGER NOT NULL,
    "status" "turn_status" NOT NULL DEFAULT 'running',
    "mode" "turn_mode" NOT NULL,
    "roster_snapshot" JSONB NOT NULL,
    "user_content" TEXT NOT NULL,
    "error" TEXT,
    "started_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completed_at" TIMESTAMPTZ(6),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "turns_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "turn_steps" (
    "id" UUID NOT NULL,
    "turn_id" UUID NOT NULL,
    "seq" INTEGER NOT NULL,
    "kind" "step_kind" NOT NULL,
    "agent_id" UUID,
    "agent_key" VARCHAR(32),
    "model_alias" "model_alias" NOT NULL,
    "allowed_tools" "tool_permission"[] DEFAULT ARRAY[]::"tool_permission"[],
    "status" "step_status" NOT NULL DEFAULT 'running',
    "output" TEXT,
    "error" TEXT,
    "routing_decision" JSONB,
    "started_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completed_at" TIMESTAMPTZ(6),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "turn_steps_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "messages" (
    "id" UUID NOT NULL,
    "session_id" UUID NOT NULL,
    "turn_id" UUID,
    "step_id" UUID,
    "role" "message_role" NOT NULL,
    "agent_id" UUID,
    "agent_key" VARCHAR(32),
    "content" TEXT NOT NULL,
    "visibility" "message_visibility" NOT NULL DEFAULT 'shared',
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "messages_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "llm_call_events" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "room_id" UUID,
    "direct_session_id" VARCHAR(64),
    "session_id" UUID,
    "turn_id" UUID,
    "step_id" UUID,
    "agent_id" VARCHAR(64),
    "provider" VARCHAR(32) NOT NULL,
    "model_alias" VARCHAR(32) NOT NULL,
    "provider_model" VARCHAR(128) NOT NULL,
    "input_tokens_fresh" INTEGER NOT NULL,
    "input_tokens_cached" INTEGER NOT NULL,
    "output_tokens" INTEGER NOT NULL,
    "total_tokens" INTEGER NOT NULL,
    "oe_tokens_computed" DECIMAL(20,4) NOT NULL,
    "provider_cost_usd" DECIMAL(20,8) NOT NULL,
    "credits_burned" DECIMAL(20,4) NOT NULL,
    "latency_ms" INTEGER,
    "status" VARCHAR(24) NOT NULL,
    "pricing_version" VARCHAR(32) NOT NULL,
    "request_id" VARCHAR(128),
    "call_kind" VARCHAR(32),
    "turn_mode" VARCHAR(16),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "llm_call_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "session_summaries" (
    "id" UUID NOT NULL,
    "session_id" UUID NOT NULL,
    "turn_id" UUID,
    "through_turn_seq" INTEGER NOT NULL,
    "source" VARCHAR(16) NOT NULL,
    "summary_text" TEXT NOT NULL,
    "key_facts" JSONB NOT NULL DEFAULT '[]',
    "open_questions" JSONB NOT NULL DEFAULT '[]',
    "decisions" JSONB NOT NULL DEFAULT '[]',
    "action_items" JSONB NOT NULL DEFAULT '[]',
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "session_summaries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "turn_context_audit" (
    "id" UUID NOT NULL,
    "turn_id" UUID NOT NULL,
    "step_id" UUID,
    "agent_id" UUID,
    "model_alias" VARCHAR(32) NOT NULL,
    "context_limit" INTEGER NOT NULL,
    "output_reserve" INTEGER NOT NULL,
    "overhead_reserve" INTEGER NOT NULL,
    "input_budget" INTEGER NOT NULL,
    "estimate_before" INTEGER NOT NULL,
    "estimate_after_summary" INTEGER NOT NULL,
    "estimate_after_prune" INTEGER NOT NULL,
    "summarized" BOOLEAN NOT NULL,
    "pruned" BOOLEAN NOT NULL,
    "overflow" BOOLEAN NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "turn_context_audit_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "idx_agents_owner_created_at" ON "agents"("owner_id", "created_at");

-- CreateIndex
CREATE INDEX "idx_rooms_owner_created_at" ON "rooms"("owner_id", "created_at");

-- CreateIndex
CREATE INDEX "idx_room_agents_agent_id" ON "room_agents"("agent_id");

-- CreateIndex
CREATE UNIQUE INDEX "uq_room_agents_room_agent" ON "room_agents"("room_id", "agent_id");

-- CreateIndex
CREATE INDEX "idx_sessions_owner_created_at" ON "sessions"("owner_id", "created_at");

-- CreateIndex
CREATE INDEX "idx_sessions_room_id" ON "sessions"("room_id");

-- CreateIndex
CREATE INDEX "idx_sessions_agent_id" ON "sessions"("agent_id");

-- CreateIndex
CREATE INDEX "idx_turns_user_created_at" ON "turns"("user_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "uq_turns_session_seq" ON "turns"("session_id", "seq");

-- CreateIndex
CREATE UNIQUE INDEX "uq_turn_steps_turn_seq" ON "turn_steps"("turn_id", "seq");

-- CreateIndex
CREATE INDEX "idx_messages_session_created_at" ON "messages"("session_id", "created_at");

-- CreateIndex
CREATE INDEX "idx_messages_turn_id" ON "messages"("turn_id");

-- CreateIndex
CREATE INDEX "idx_llm_call_events_user_created_at" ON "llm_call_events"("user_id", "created_at");

-- CreateIndex
CREATE INDEX "idx_llm_call_events_session_created_at" ON "llm_call_events"("session_id", "created_at");

-- CreateIndex
CREATE INDEX "idx_llm_call_events_turn_id" ON "llm_call_events"("turn_id");

-- CreateIndex
CREATE INDEX "idx_llm_call_events_model_alias_created_at" ON "llm_call_events"("model_alias", "created_at");

-- CreateIndex
CREATE INDEX "idx_llm_call_events_created_at" ON "llm_call_events"("created_at");

-- CreateIndex
CREATE INDEX "idx_session_summaries_session_created_at" ON "session_summaries"("session_id", "created_at");

-- CreateIndex
CREATE INDEX "idx_turn_context_audit_turn_id" ON "turn_context_audit"("turn_id");

-- AddForeignKey
ALTER TABLE "agents" ADD CONSTRAINT "agents_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "rooms" ADD CONSTRAINT "rooms_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "room_agents" ADD CONSTRAINT "room_agents_room_id_fkey" FOREIGN KEY ("room_id") REFERENCES "rooms"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "room_agents" ADD CONSTRAINT "room_agents_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_room_id_fkey" FOREIGN KEY ("room_id") REFERENCES "rooms"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "turns" ADD CONSTRAINT "turns_session_id_fkey" FOREIGN KEY ("session_id") REFERENCES "sessions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "turns" ADD CONSTRAINT "turns_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "turn_steps" ADD CONSTRAINT "turn_steps_turn_id_fkey" FOREIGN KEY ("turn_id") REFERENCES "turns"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "messages" ADD CONSTRAINT "messages_session_id_fkey" FOREIGN KEY ("session_id") REFERENCES "sessions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "messages" ADD CONSTRAINT "messages_turn_id_fkey" FOREIGN KEY ("turn_id") REFERENCES "turns"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "messages" ADD CONSTRAINT "messages_step_id_fkey" FOREIGN KEY ("step_id") REFERENCES "turn_steps"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "llm_call_events" ADD CONSTRAINT "llm_call_events_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "llm_call_events" ADD CONSTRAINT "llm_call_events_room_id_fkey" FOREIGN KEY ("room_id") REFERENCES "rooms"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "llm_call_events" ADD CONSTRAINT "llm_call_events_session_id_fkey" FOREIGN KEY ("session_id") REFERENCES "sessions"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "llm_call_events" ADD CONSTRAINT "llm_call_events_turn_id_fkey" FOREIGN KEY ("turn_id") REFERENCES "turns"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "llm_call_events" ADD CONSTRAINT "llm_call_events_step_id_fkey" FOREIGN KEY ("step_id") REFERENCES "turn_steps"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "session_summaries" ADD CONSTRAINT "session_summaries_session_id_fkey" FOREIGN KEY ("session_id") REFERENCES "sessions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "turn_context_audit" ADD CONSTRAINT "turn_context_audit_turn_id_fkey" FOREIGN KEY ("turn_id") REFERENCES "turns"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "turn_context_audit" ADD CONSTRAINT "turn_context_audit_step_id_fkey" FOREIGN KEY ("step_id") REFERENCES "turn_steps"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- Hand-written: constraints the Prisma schema cannot express (named in schema.prisma).

-- A session belongs to exactly one of a room or an agent (direct chat).
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_scope_check"
  CHECK (num_nonnulls("room_id", "agent_id") = 1);

-- Agent keys are unique per owner among live agents, so a deleted key can be reused.
CREATE UNIQUE INDEX "uq_agents_owner_agent_key" ON "agents"("owner_id", "agent_key")
  WHERE "deleted_at" IS NULL;

ALTER TABLE "agents" ADD CONSTRAINT "agents_agent_key_format_check"
  CHECK ("agent_key" ~ '^[a-z0-9_]{2,32}$');

ALTER TABLE "room_agents" ADD CONSTRAINT "room_agents_position_check" CHECK ("position" >= 0);

-- At most one running turn per session: concurrent sends conflict in the database.
CREATE UNIQUE INDEX "uq_turns_session_running" ON "turns"("session_id")
  WHERE "status" = 'running';

-- A retried write of the same provider request must not double count.
CREATE UNIQUE INDEX "uq_llm_call_events_request_id" ON "llm_call_events"("request_id")
  WHERE "request_id" IS NOT NULL;

-- A call is attributed to a room session or to a direct session, never both.
ALTER TABLE "llm_call_events" ADD CONSTRAINT "llm_call_events_attribution_check"
  CHECK ("session_id" IS NULL OR "direct_session_id" IS NULL);

ALTER TABLE "llm_call_events" ADD CONSTRAINT "llm_call_events_tokens_check"
  CHECK ("input_tokens_fresh" >= 0 AND "input_tokens_cached" >= 0
     AND "output_tokens" >= 0 AND "total_tokens" >= 0
     AND "oe_tokens_computed" >= 0 AND "provider_cost_usd" >= 0 AND "credits_burned" >= 0);

-- The ledger is append-only. The one permitted update is the FK ON DELETE SET NULL
-- of room/session/turn/step, so deleting those keeps the usage rows.
CREATE FUNCTION "llm_call_events_append_only"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  detachable CONSTANT text[] := ARRAY['room_id', 'session_id', 'turn_id', 'step_id'];
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'llm_call_events is append-only: rows cannot be deleted'
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  IF (to_jsonb(NEW) - detachable) IS DISTINCT FROM (to_jsonb(OLD) - detachable)
     OR (NEW."room_id" IS DISTINCT FROM OLD."room_id" AND NEW."room_id" IS NOT NULL)
     OR (NEW."session_id" IS DISTINCT FROM OLD."session_id" AND NEW."session_id" IS NOT NULL)
     OR (NEW."turn_id" IS DISTINCT FROM OLD."turn_id" AND NEW."turn_id" IS NOT NULL)
     OR (NEW."step_id" IS DISTINCT FROM OLD."step_id" AND NEW."step_id" IS NOT NULL) THEN
    RAISE EXCEPTION 'llm_call_events is append-only: rows cannot be changed'
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER "llm_call_events_append_only"
  BEFORE UPDATE OR DELETE ON "llm_call_events"
  FOR EACH ROW EXECUTE FUNCTION "llm_call_events_append_only"();
