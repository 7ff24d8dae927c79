// `npm run allowlist -- add USER_ID --actor NAME [--note TEXT]`, `remove USER_ID --actor NAME`, `list`:
// the closed-beta allow-list (Gate C). USER_ID is the Supabase Auth user id (JWT sub).
import { parseCliArgs, parseOptionsOrExit } from "./args.ts";
import { z } from "zod";
import { loadConfigOrExit, withDirectConnection } from "./database.ts";
import { inTransaction, queryOne, queryRows, sql } from "../db/sql.ts";

const argsSchema = z.discriminatedUnion("action", [
  z.object({ action: z.literal("add"), userId: z.string().uuid(), actor: z.string().min(1).max(120), note: z.string().max(500).optional() }),
  z.object({ action: z.literal("remove"), userId: z.string().uuid(), actor: z.string().min(1).max(120) }),
  z.object({ action: z.literal("list") }),
]);

const USAGE = "usage: allowlist add|remove USER_ID --actor NAME [--note TEXT] | allowlist list";
const { values, positionals } = parseCliArgs(USAGE, { actor: { type: "string" }, note: { type: "string" } }, true);
const args = parseOptionsOrExit(USAGE, argsSchema, { action: positionals[0], userId: positionals[1], ...values }, { action: "ACTION", userId: "USER_ID" });

interface AllowlistRow {
  user_id: string;
  added_by: string;
  note: string | null;
  created_at: Date;
}

await withDirectConnection(loadConfigOrExit(), async (db) => {
  if (args.action === "list") {
    const rows = await queryRows<AllowlistRow>(db, sql`SELECT user_id, added_by, note, created_at FROM beta_allowlist ORDER BY created_at`);
    for (const row of rows) console.log(`${row.user_id}  added by ${row.added_by} at ${row.created_at.toISOString()}${row.note ? `  (${row.note})` : ""}`);
    console.log(`${rows.length} allow-listed user(s)`);
    return;
  }
  await inTransaction(db, async (tx) => {
    const before = await queryOne<{ user_id: string }>(tx, sql`SELECT user_id FROM beta_allowlist WHERE user_id = ${args.userId}`);
    if (args.action === "add") {
      await queryRows(tx, sql`INSERT INTO beta_allowlist (user_id, added_by, note) VALUES (${args.userId}, ${args.actor}, ${args.note ?? null}) ON CONFLICT (user_id) DO NOTHING`);
    } else {
      await queryRows(tx, sql`DELETE FROM beta_allowlist WHERE user_id = ${args.userId}`);
    }
    await queryRows(
      tx,
      sql`INSERT INTO admin_audit_log (id, actor, action, target, before, after)
          VALUES (gen_random_uuid(), ${args.actor}, ${`allowlist.${args.action}`}, ${args.userId}, ${{ allowlisted: before !== undefined }}, ${{ allowlisted: args.action === "add" }})`,
    );
  });
  console.log(`${args.action === "add" ? "Added" : "Removed"} ${args.userId}. Servers pick it up within 30 s.`);
});
