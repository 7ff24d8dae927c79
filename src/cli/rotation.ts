// `npm run rotation -- executed --actor NAME [--note TEXT]`
//   records that the SUPABASE_SERVICE_ROLE_KEY now configured is a freshly rotated key;
// `npm run rotation -- scheduled --due ISO_DATE --actor NAME [--note TEXT]`
//   records a rotation planned for that date. Only a fingerprint of the key is stored.
import { parseCliArgs, parseOptionsOrExit } from "./args.ts";
import { z } from "zod";
import { fail, loadConfigOrExit, withDirectConnection } from "./database.ts";
import { keyFingerprint } from "../gates/keyRotationGate.ts";
import { inTransaction, queryOne, queryRows, sql } from "../db/sql.ts";

const argsSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("executed"), actor: z.string().min(1).max(120), note: z.string().max(500).optional() }),
  z.object({
    kind: z.literal("scheduled"),
    actor: z.string().min(1).max(120),
    note: z.string().max(500).optional(),
    due: z.coerce.date().refine((date) => date > new Date(), "must be in the future"),
  }),
]);

const USAGE = "usage: rotation executed|scheduled --actor NAME [--due ISO_DATE] [--note TEXT]";
const { values, positionals } = parseCliArgs(USAGE, { actor: { type: "string" }, due: { type: "string" }, note: { type: "string" } }, true);
const args = parseOptionsOrExit(USAGE, argsSchema, { kind: positionals[0], ...values }, { kind: "KIND" });
const config = loadConfigOrExit();
const key = config.supabaseServiceRoleKey;
if (args.kind === "executed" && !key) fail("SUPABASE_SERVICE_ROLE_KEY must be set to the rotated key to record an executed rotation.");

/** Serializes rotation records, so two concurrent runs cannot both record the same key. */
const ROTATION_LOCK = sql`SELECT pg_advisory_xact_lock(hashtext('service_role_key_rotations'))`;

await withDirectConnection(config, async (db) => {
  const fingerprint = args.kind === "executed" ? keyFingerprint(key!) : null;
  // The earlier record of this key, when refused (nothing written).
  const refusal = await inTransaction(db, async (tx) => {
    await queryRows(tx, ROTATION_LOCK);
    // An executed rotation opens broad rollout: it must name a key never recorded before, or re-recording the old key would open it.
    if (fingerprint) {
      const recorded = await queryOne<{ recorded_at: Date }>(
        tx,
        sql`SELECT created_at AS recorded_at FROM service_role_key_rotations WHERE fingerprint = ${fingerprint} ORDER BY created_at LIMIT 1`,
      );
      if (recorded) return recorded;
    }
    await queryRows(
      tx,
      sql`INSERT INTO service_role_key_rotations (id, kind, fingerprint, due_at, executed_at, actor, note)
          VALUES (gen_random_uuid(), ${args.kind}, ${fingerprint}, ${args.kind === "scheduled" ? args.due : null}, ${args.kind === "executed" ? new Date() : null}, ${args.actor}, ${args.note ?? null})`,
    );
    return null;
  });
  if (refusal) {
    fail(
      `Refused: the configured SUPABASE_SERVICE_ROLE_KEY (fingerprint ${fingerprint!.slice(0, 12)}…) was already recorded on ${refusal.recorded_at.toISOString()}. ` +
        "Rotate the key in Supabase, set SUPABASE_SERVICE_ROLE_KEY to the new key, then record the rotation.",
    );
  }
  console.log(
    args.kind === "executed"
      ? `Recorded executed rotation (key fingerprint ${fingerprint!.slice(0, 12)}…) by ${args.actor}.`
      : `Recorded rotation scheduled for ${args.due.toISOString()} by ${args.actor}.`,
  );
});
