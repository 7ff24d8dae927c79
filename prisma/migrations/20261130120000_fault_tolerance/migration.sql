-- AlterTable
ALTER TABLE "turns" ADD COLUMN     "lease_expires_at" TIMESTAMPTZ(6) NOT NULL DEFAULT (now() + '00:15:00'::interval),
ADD COLUMN     "owner_instance" VARCHAR(64);

-- AlterTable
ALTER TABLE "llm_call_events" ADD COLUMN     "reported_usage" JSONB,
ADD COLUMN     "usage_out_of_range" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "routing_previews" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "session_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "routing_previews_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "idx_routing_previews_user_created_at" ON "routing_previews"("user_id", "created_at");

-- AddForeignKey
ALTER TABLE "routing_previews" ADD CONSTRAINT "routing_previews_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- Hand-written (not expressible in schema.prisma): the lease sweep reads only running turns.
CREATE INDEX "idx_turns_running_lease" ON "turns"("lease_expires_at") WHERE "status" = 'running';
