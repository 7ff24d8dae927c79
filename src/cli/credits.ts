// `npm run credits -- <action>`: the owners' credit operations for ops at a
// terminal (SPEC 13), through the same statements as the GraphQL mutations,
// each audited as `--actor` (default ops:<login>):
//   wallet --user ID                 the wallet now (changes nothing)
//   history --user ID [--limit N]    its credit transactions, newest first
//   grant --user ID --amount N --key KEY [--note TEXT]
//   adjust --user ID --amount=±N --key KEY [--note TEXT] [--allow-negative]   (= lets the value start with -)
//   plan --user ID --plan starter|pro|power
//   enforcement off|warn|enforce|default     the runtime override (default removes it)
// Suspension: `npm run admin -- suspend|reactivate`.
import { userInfo } from "node:os";
import { z } from "zod";
import { parseCliArgs, parseOptionsOrExit } from "./args.ts";
import { fail, loadConfigOrExit, withDirectConnection } from "./database.ts";
import { queryRows, sql } from "../db/sql.ts";
import { CREDIT_ENFORCEMENTS, CREDIT_PLANS } from "../config/credits.ts";
import { readWallet, recordGrant, setEnforcementOverride, setPlan, walletView, type CreditActor, type WalletRow } from "../credits/adminSql.ts";
import { MAX_CREDIT_AMOUNT, signedCreditAmount } from "../credits/creditAmount.ts";
import { ConflictError, ValidationError } from "../errors.ts";

const user = z.string().uuid("must be a user id (uuid)");
const actor = z.string().min(1).max(120).default(`ops:${userInfo().username}`);
const key = z.string().min(8, "must be at least 8 characters").max(150).regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces");
const note = z.string().max(500).optional();
const amount = signedCreditAmount.refine((value) => !value.isZero() && value.abs().lte(MAX_CREDIT_AMOUNT), "must be non-zero and at most 1000000 in size");

const argsSchema = z.discriminatedUnion("action", [
  z.object({ action: z.literal("wallet"), user }),
  z.object({ action: z.literal("history"), user, limit: z.coerce.number().int().min(1).max(1000).default(20) }),
  z.object({ action: z.literal("grant"), user, amount: amount.refine((value) => value.gt(0), "a grant must be positive (use adjust to take credits back)"), key, note, actor }),
  z.object({ action: z.literal("adjust"), user, amount, key, note, actor, "allow-negative": z.boolean().default(false) }),
  z.object({ action: z.literal("plan"), user, plan: z.enum(CREDIT_PLANS), actor }),
  z.object({ action: z.literal("enforcement"), mode: z.enum([...CREDIT_ENFORCEMENTS, "default"]), actor }),
]);

const USAGE = `usage: credits wallet --user USER_ID
       credits history --user USER_ID [--limit N]
       credits grant --user USER_ID --amount N --key KEY [--note TEXT] [--actor NAME]
       credits adjust --user USER_ID --amount=±N --key KEY [--note TEXT] [--allow-negative] [--actor NAME]
       credits plan --user USER_ID --plan starter|pro|power [--actor NAME]
       credits enforcement off|warn|enforce|default [--actor NAME]`;
const { values, positionals } = parseCliArgs(
  USAGE,
  { user: { type: "string" }, amount: { type: "string" }, key: { type: "string" }, note: { type: "string" }, plan: { type: "string" }, limit: { type: "string" }, actor: { type: "string" }, "allow-negative": { type: "boolean" } },
  true,
);
const args = parseOptionsOrExit(USAGE, argsSchema, { action: positionals[0], mode: positionals[1], ...values }, { action: "ACTION", mode: "MODE" });
const config = loadConfigOrExit();
const { defaultPlan } = config.credits;

function printWallet(row: WalletRow): void {
  const wallet = walletView(row);
  console.log(`user ${wallet.userId}  plan ${wallet.plan}  month from ${wallet.periodStart.toISOString().slice(0, 10)}`);
  console.log(`allowance ${wallet.allowance}  granted ${wallet.granted}  held ${wallet.held}  available ${wallet.available}`);
  console.log(`low balance below ${wallet.lowBalanceThreshold}: ${wallet.lowBalanceSince ? `yes, since ${wallet.lowBalanceSince.toISOString()}` : "no"}`);
}

interface HistoryRow {
  created_at: Date;
  kind: string;
  amount: string;
  balance_after: string;
  initiated_by: string;
  note: string;
}

await withDirectConnection(config, async (db) => {
  if (args.action === "enforcement") {
    await setEnforcementOverride(db, args.mode === "default" ? null : args.mode, { userId: null, label: args.actor });
    console.log(args.mode === "default" ? "Removed the override: each instance applies its CREDIT_ENFORCEMENT." : `Credit enforcement is ${args.mode} on every instance.`);
    return;
  }
  const wallet = await readWallet(db, args.user, defaultPlan);
  if (!wallet) fail(`No user ${args.user}.`);
  const by: CreditActor = { userId: null, label: "actor" in args ? args.actor : "" };
  switch (args.action) {
    case "wallet":
      printWallet(wallet);
      return;
    case "history": {
      const rows = await queryRows<HistoryRow>(
        db,
        sql`SELECT created_at, kind::text, amount::text, balance_after::text, initiated_by, coalesce(note, '') AS note
              FROM credit_transactions WHERE user_id = ${args.user} ORDER BY created_at DESC, id DESC LIMIT ${args.limit}`,
      );
      for (const row of rows) console.log(`${row.created_at.toISOString()}  ${row.kind.padEnd(14)} ${row.amount.padStart(14)}  → ${row.balance_after.padStart(14)}  ${row.initiated_by}  ${row.note}`);
      console.log(`${rows.length} transaction(s)`);
      return;
    }
    case "grant":
    case "adjust":
      try {
        const allowNegativeBalance = args.action === "adjust" && args["allow-negative"];
        await recordGrant(db, { userId: args.user, kind: args.action === "grant" ? "grant" : "adjustment", amount: args.amount, idempotencyKey: args.key, note: args.note ?? null, defaultPlan, allowNegativeBalance }, by);
      } catch (error) {
        if (error instanceof ConflictError) fail(error.message);
        if (error instanceof ValidationError) fail(`--amount ${error.issues[0]!.message}`);
        throw error;
      }
      printWallet((await readWallet(db, args.user, defaultPlan))!);
      return;
    case "plan":
      printWallet(await setPlan(db, args.user, args.plan, by, defaultPlan));
  }
});
