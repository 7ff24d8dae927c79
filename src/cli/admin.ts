// `npm run admin -- grant --user USER_ID --role owner|analyst [--actor NAME]`,
// `revoke --user USER_ID [--actor NAME]`, `list`: admin roles (SPEC section 2);
// `suspend --user USER_ID [--reason TEXT] [--actor NAME]`, `reactivate ...`:
// account suspension (SRS FR-ADMIN-003; sends and previews see it at once).
// USER_ID is the Supabase Auth user id (JWT sub); a user who has not signed in
// yet gets their users row now. Every change is recorded in admin_audit_log
// in the same transaction. Servers pick a change up within 30 s (user cache).
import { userInfo } from "node:os";
import { parseCliArgs } from "./args.ts";
import { z } from "zod";
import { fail, loadConfigOrExit, withDirectConnection } from "./database.ts";

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
const parsed = argsSchema.safeParse({ action: positionals[0], ...values });
if (!parsed.success) {
  fail(
    `${USAGE}\n` +
      parsed.error.issues.map((issue) => `  ${issue.path.join(".") || "action"}: ${issue.message}`).join("\n"),
  );
}
const args = parsed.data;

await withDirectConnection(loadConfigOrExit(), async (client) => {
  if (args.action === "list") {
    const { rows } = await client.query("SELECT id, email, admin_role FROM users WHERE admin_role IS NOT NULL ORDER BY admin_role, id");
    for (const row of rows) console.log(`${row.id}  ${row.admin_role}${row.email ? `  ${row.email}` : ""}`);
    console.log(`${rows.length} admin(s)`);
    return;
  }
  if (args.action === "suspend" || args.action === "reactivate") {
    await client.query("BEGIN");
    const before = await client.query<{ suspended_at: Date | null }>("SELECT suspended_at FROM users WHERE id = $1 FOR UPDATE", [args.user]);
    if (before.rowCount === 0) {
      await client.query("ROLLBACK");
      fail(`No user ${args.user}.`);
    }
    // Suspending a suspended account keeps its first suspension time.
    const { rows } = await client.query<{ suspended_at: Date | null }>(
      "UPDATE users SET suspended_at = CASE WHEN $2 THEN coalesce(suspended_at, now()) END, updated_at = now() WHERE id = $1 RETURNING suspended_at",
      [args.user, args.action === "suspend"],
    );
    await client.query("INSERT INTO admin_audit_log (id, actor, action, target, before, after) VALUES (gen_random_uuid(), $1, $2, $3, $4, $5)", [
      args.actor,
      `account.${args.action}`,
      `user:${args.user}`,
      { suspendedAt: before.rows[0]!.suspended_at?.toISOString() ?? null },
      { suspendedAt: rows[0]!.suspended_at?.toISOString() ?? null, reason: args.reason ?? null },
    ]);
    await client.query("COMMIT");
    console.log(args.action === "suspend" ? `Suspended ${args.user}: sends refused at once, every other field within 30 s.` : `Reactivated ${args.user}.`);
    return;
  }
  const role = args.action === "grant" ? args.role : null;
  await client.query("BEGIN");
  const before = await client.query<{ admin_role: string | null }>("SELECT admin_role FROM users WHERE id = $1 FOR UPDATE", [args.user]);
  if (before.rowCount === 0 && role === null) {
    await client.query("ROLLBACK");
    fail(`No user ${args.user}: nothing to revoke.`);
  }
  await client.query(
    `INSERT INTO users (id, admin_role) VALUES ($1, $2::admin_role)
     ON CONFLICT (id) DO UPDATE SET admin_role = EXCLUDED.admin_role, updated_at = now()`,
    [args.user, role],
  );
  await client.query(
    "INSERT INTO admin_audit_log (id, actor, action, target, before, after) VALUES (gen_random_uuid(), $1, $2, $3, $4, $5)",
    [args.actor, `adminRole.${args.action}`, args.user, { adminRole: before.rows[0]?.admin_role ?? null }, { adminRole: role }],
  );
  await client.query("COMMIT");
  console.log(role ? `Granted ${role} to ${args.user}.` : `Revoked the admin role of ${args.user}.`, "Servers pick it up within 30 s.");
});
