-- CreateTable
CREATE TABLE "beta_allowlist" (
    "user_id" UUID NOT NULL,
    "added_by" VARCHAR(120) NOT NULL,
    "note" VARCHAR(500),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "beta_allowlist_pkey" PRIMARY KEY ("user_id")
);

-- CreateTable
CREATE TABLE "service_role_key_rotations" (
    "id" UUID NOT NULL,
    "kind" VARCHAR(16) NOT NULL,
    "fingerprint" VARCHAR(64),
    "due_at" TIMESTAMPTZ(6),
    "executed_at" TIMESTAMPTZ(6),
    "actor" VARCHAR(120) NOT NULL,
    "note" VARCHAR(500),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "service_role_key_rotations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "app_settings" (
    "key" VARCHAR(64) NOT NULL,
    "value" JSONB NOT NULL,
    "updated_by" UUID,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "app_settings_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "admin_audit_log" (
    "id" UUID NOT NULL,
    "actor_id" UUID,
    "actor" VARCHAR(120) NOT NULL,
    "action" VARCHAR(64) NOT NULL,
    "target" VARCHAR(200),
    "before" JSONB,
    "after" JSONB,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "admin_audit_log_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "idx_service_role_key_rotations_created_at" ON "service_role_key_rotations"("created_at");

-- CreateIndex
CREATE INDEX "idx_admin_audit_log_created_at" ON "admin_audit_log"("created_at");


-- Hand-written: a rotation is either executed (with the fingerprint now in use) or scheduled (with a due date).
ALTER TABLE "service_role_key_rotations" ADD CONSTRAINT "service_role_key_rotations_kind_check"
  CHECK (("kind" = 'executed' AND "fingerprint" IS NOT NULL AND "executed_at" IS NOT NULL)
      OR ("kind" = 'scheduled' AND "due_at" IS NOT NULL));
