-- AlterTable
ALTER TABLE "sessions" ADD COLUMN     "last_activity_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- CreateIndex
CREATE INDEX "idx_sessions_owner_last_activity" ON "sessions"("owner_id", "last_activity_at" DESC, "id" DESC);


-- Existing sessions: their last activity is their last turn, or their creation.
UPDATE "sessions" s SET "last_activity_at" = coalesce((SELECT max(t."created_at") FROM "turns" t WHERE t."session_id" = s."id"), s."created_at");
