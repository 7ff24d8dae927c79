// `npm run admin -- grant --user USER_ID --role owner|analyst [--actor NAME]`,
// `revoke --user USER_ID [--actor NAME]`, `list`: admin roles (SPEC section 2);
// `suspend --user USER_ID [--reason TEXT] [--actor NAME]`, `reactivate ...`:
// account suspension (SRS FR-ADMIN-003; sends and previews see it at once).
// USER_ID is the Supabase Auth user id (JWT sub); a user who has not signed in
// yet gets their users row now. Every change is recorded in admin_audit_log
// in the same transaction. Servers pick a change up within 30 s (user cache).
import { userInfo } from "node:os";
import { parseCliArgs, parseOptionsOrExit } from "./args.ts";
import { z } from "zod";
import { fail, loadConfigOrExit, withDirectConnection } from "./database.ts";
import { inTransaction, queryOne, queryRows, sql } from "../db/sql.ts";

const ROLES = ["owner", "analyst"] as const;
const actor = z.string().min(1).max(120).default(`ops:${userInfo().username}`);

const argsSchema = z.discriminatedUnion("action", [
  z.object({ action: z.literal("grant"), user: z.string().uuid(), role: z.enum(ROLES), actor }),
  z.object({ action: z.literal("revoke"), user: z.string().uuid(), actor }),
  z.object({ action: z.literal("list") }),
  z.object({ action: z.enum(["suspend", "reactivate"]), user: z.string().uuid(), reason: z.string().max(500).optional(), actor }),
]);

const USAGE =
  "usage: admin grant --user USER_ID --role owner|analyst [--actor NAME] | admin revoke --user USER_ID [--actor NAME] | admin list | admin suspend|reactivate --user USER_ID [--reason TEXT] [--actor NAME]";
const { values, positionals } = parseCliArgs(USAGE, { user: { type: "string" }, role: { type: "string" }, reason: { type: "string" }, actor: { type: "string" } }, true);
const args = parseOptionsOrExit(USAGE, argsSchema, { action: positionals[0], ...values }, { action: "ACTION" });

interface AdminRow {
  id: string;
  email: string | null;
  admin_role: string;
}

/** An admin_audit_log row written by ops (no actor_id); `before` and `after` are stored as jsonb. */
function auditRow(actor: string, action: string, target: string, before: unknown, after: unknown) {
  return sql`INSERT INTO admin_audit_log (id, actor, action, target, before, after) VALUES (gen_random_uuid(), ${actor}, ${action}, ${target}, ${before}, ${after})`;
}

await withDirectConnection(loadConfigOrExit(), async (db) => {
  if (args.action === "list") {
    const rows = await queryRows<AdminRow>(db, sql`SELECT id, email, admin_role FROM users WHERE admin_role IS NOT NULL ORDER BY admin_role, id`);
    for (const row of rows) console.log(`${row.id}  ${row.admin_role}${row.email ? `  ${row.email}` : ""}`);
    console.log(`${rows.length} admin(s)`);
    return;
  }
  if (args.action === "suspend" || args.action === "reactivate") {
    const suspend = args.action === "suspend";
    // false: no such user (nothing written).
    const changed = await inTransaction(db, async (tx) => {
      const before = await queryOne<{ suspended_at: Date | null }>(tx, sql`SELECT suspended_at FROM users WHERE id = ${args.user} FOR UPDATE`);
      if (!before) return false;
      // Suspending a suspended account keeps its first suspension time.
      const after = await queryOne<{ suspended_at: Date | null }>(
        tx,
        sql`UPDATE users SET suspended_at = CASE WHEN ${suspend} THEN coalesce(suspended_at, now()) END, updated_at = now() WHERE id = ${args.user} RETURNING suspended_at`,
      );
      await queryRows(
        tx,
        auditRow(
          args.actor,
          `account.${args.action}`,
          `user:${args.user}`,
          { suspendedAt: before.suspended_at?.toISOString() ?? null },
          { suspendedAt: after!.suspended_at?.toISOString() ?? null, reason: args.reason ?? null },
        ),
      );
      return true;
    });
    if (!changed) fail(`No user ${args.user}.`);
    console.log(suspend ? `Suspended ${args.user}: sends refused at once, every other field within 30 s.` : `Reactivated ${args.user}.`);
    return;
  }
  const role = args.action === "grant" ? args.role : null;
  // false: revoking from no such user (nothing written).
  const changed = await inTransaction(db, async (tx) => {
    const before = await queryOne<{ admin_role: string | null }>(tx, sql`SELECT admin_role FROM users WHERE id = ${args.user} FOR UPDATE`);
    if (!before && role === null) return false;
    await queryRows(
      tx,
      sql`INSERT INTO users (id, admin_role) VALUES (${args.user}, ${role}::admin_role)
          ON CONFLICT (id) DO UPDATE SET admin_role = EXCLUDED.admin_role, updated_at = now()`,
    );
    await queryRows(tx, auditRow(args.actor, `adminRole.${args.action}`, args.user, { adminRole: before?.admin_role ?? null }, { adminRole: role }));
    return true;
  });
  if (!changed) fail(`No user ${args.user}: nothing to revoke.`);
  console.log(role ? `Granted ${role} to ${args.user}.` : `Revoked the admin role of ${args.user}.`, "Servers pick it up within 30 s.");
});
