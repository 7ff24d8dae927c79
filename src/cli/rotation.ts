// `npm run rotation -- executed --actor NAME [--note TEXT]`
//   records that the SUPABASE_SERVICE_ROLE_KEY now configured is a freshly rotated key;
// `npm run rotation -- scheduled --due ISO_DATE --actor NAME [--note TEXT]`
//   records a rotation planned for that date. Only a fingerprint of the key is stored.
import { parseArgs } from "node:util";
import { z } from "zod";
import { fail, loadConfigOrExit, withDirectConnection } from "./database.ts";
import { keyFingerprint } from "../gates/keyRotationGate.ts";

const argsSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("executed"), actor: z.string().min(1).max(120), note: z.string().max(500).optional() }),
  z.object({
    kind: z.literal("scheduled"),
    actor: z.string().min(1).max(120),
    note: z.string().max(500).optional(),
    due: z.coerce.date().refine((date) => date > new Date(), "must be in the future"),
  }),
]);

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { actor: { type: "string" }, due: { type: "string" }, note: { type: "string" } },
});
const parsed = argsSchema.safeParse({ kind: positionals[0], ...values });
if (!parsed.success) {
  fail(`usage: rotation executed|scheduled --actor NAME [--due ISO_DATE] [--note TEXT]\n${parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n")}`);
}
const args = parsed.data;
const config = loadConfigOrExit();
const key = config.supabaseServiceRoleKey;
if (args.kind === "executed" && !key) fail("SUPABASE_SERVICE_ROLE_KEY must be set to the rotated key to record an executed rotation.");

await withDirectConnection(config, async (client) => {
  const fingerprint = args.kind === "executed" ? keyFingerprint(key!) : null;
  await client.query(
    `INSERT INTO service_role_key_rotations (id, kind, fingerprint, due_at, executed_at, actor, note)
     VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6)`,
    [args.kind, fingerprint, args.kind === "scheduled" ? args.due : null, args.kind === "executed" ? new Date() : null, args.actor, args.note ?? null],
  );
  console.log(
    args.kind === "executed"
      ? `Recorded executed rotation (key fingerprint ${fingerprint!.slice(0, 12)}…) by ${args.actor}.`
      : `Recorded rotation scheduled for ${args.due.toISOString()} by ${args.actor}.`,
  );
});
