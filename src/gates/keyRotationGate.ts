// Gate C: a broad rollout needs a service-role key rotation on record, either
// executed (with the fingerprint of the key now configured) or scheduled with
// a due date still ahead. Only fingerprints are stored or compared.
import { createHash } from "node:crypto";
import { queryRows, sql, type Queryable } from "../db/sql.ts";

/** SHA-256 hex of the key: identifies it without revealing it. */
export function keyFingerprint(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

interface RotationRow {
  kind: "executed" | "scheduled";
  fingerprint: string | null;
  due_at: Date | null;
  executed_at: Date | null;
  created_at: Date;
}

const LATEST_ROTATIONS_SQL = sql`SELECT kind, fingerprint, due_at, executed_at, created_at
  FROM service_role_key_rotations ORDER BY created_at DESC LIMIT 50`;

export function keyRotationReasons(rows: RotationRow[], configuredKey: string | undefined, now: Date): string[] {
  const fingerprint = configuredKey ? keyFingerprint(configuredKey) : null;
  if (rows.some((row) => row.kind === "executed" && fingerprint !== null && row.fingerprint === fingerprint)) return [];
  if (rows.some((row) => row.kind === "scheduled" && row.due_at !== null && row.due_at > now)) return [];
  const reasons: string[] = [];
  if (rows.length === 0) reasons.push("no service-role key rotation is recorded (executed or scheduled)");
  if (!configuredKey) reasons.push("SUPABASE_SERVICE_ROLE_KEY is not configured, so no executed rotation can match it");
  else if (rows.some((row) => row.kind === "executed")) reasons.push("no executed rotation matches the fingerprint of the configured SUPABASE_SERVICE_ROLE_KEY");
  const overdue = rows.filter((row) => row.kind === "scheduled" && row.due_at !== null && row.due_at <= now);
  if (overdue.length > 0) reasons.push(`the scheduled rotation was due at ${overdue[0]!.due_at!.toISOString()} and has passed`);
  return reasons;
}

export async function checkKeyRotationGate(db: Queryable, configuredKey: string | undefined, now = new Date()): Promise<string[]> {
  const rows = await queryRows<RotationRow>(db, LATEST_ROTATIONS_SQL);
  return keyRotationReasons(rows, configuredKey, now);
}
