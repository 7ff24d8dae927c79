// The credit administration statements shared by the GraphQL mutations and
// the ops commands, so both keep the same rules: the credit controls
// migration's functions do the arithmetic and the audit row.
import type pg from "pg";
import { ConflictError } from "../errors.ts";
import { Prisma } from "../generated/prisma/client.ts";
import type { Queryable } from "../db/queryable.ts";
import { CREDIT_ENFORCEMENT_SETTING } from "./enforcement.ts";
import type { CreditEnforcement, CreditPlanName } from "../config/credits.ts";
import { periodEndOf } from "./creditAmount.ts";

/** Who acts: an owner signed in (their user id), or ops at a terminal (a label only). */
export interface CreditActor {
  userId: string | null;
  label: string;
}

export interface GrantRequest {
  userId: string;
  kind: "grant" | "adjustment";
  amount: Prisma.Decimal;
  /** The caller's key, unique per grant: a retry with it changes nothing. */
  idempotencyKey: string;
  note: string | null;
  defaultPlan: CreditPlanName;
}

/** Records a grant or adjustment once per key; a key reused for a different grant is a ConflictError. Returns the transaction's id. */
export async function recordGrant(db: Queryable, request: GrantRequest, actor: CreditActor): Promise<string> {
  const { rows } = await db.query<{ id: string; user_id: string; kind: string; amount: string }>(
    "SELECT id, user_id, kind::text, amount::text FROM credit_grant($1::uuid, $2::credit_transaction_kind, $3::numeric, $4::uuid, $5, $6, $7, $8)",
    [request.userId, request.kind, request.amount.toFixed(4), actor.userId, actor.label, `admin:${request.idempotencyKey}`, request.note, request.defaultPlan],
  );
  const recorded = rows[0]!;
  if (recorded.user_id !== request.userId || recorded.kind !== request.kind || !new Prisma.Decimal(recorded.amount).eq(request.amount)) {
    throw new ConflictError("This idempotency key was used for a different grant.");
  }
  return recorded.id;
}

export interface WalletRow {
  user_id: string;
  plan: string;
  allowance: string;
  granted: string;
  held: string;
  period_start: string;
  low_balance_threshold: string;
  low_balance_since: Date | null;
}

/** The columns of a WalletRow, from a wallet `w` and its plan `p`. */
export const WALLET_COLUMNS = `w.user_id, w.plan, w.allowance::text, w.granted::text, w.held::text, to_char(w.period_start, 'YYYY-MM-DD') AS period_start,
  p.low_balance_threshold::text, w.low_balance_since`;

export interface WalletView {
  userId: string;
  plan: string;
  allowance: string;
  granted: string;
  held: string;
  available: string;
  periodStart: Date;
  periodEnd: Date;
  lowBalanceThreshold: string;
  lowBalanceSince: Date | null;
}

export function walletView(row: WalletRow): WalletView {
  const available = new Prisma.Decimal(row.allowance).add(row.granted).sub(row.held).toFixed(4);
  return {
    userId: row.user_id,
    plan: row.plan,
    allowance: row.allowance,
    granted: row.granted,
    held: row.held,
    available,
    periodStart: new Date(`${row.period_start}T00:00:00Z`),
    periodEnd: periodEndOf(row.period_start),
    lowBalanceThreshold: row.low_balance_threshold,
    lowBalanceSince: row.low_balance_since,
  };
}

/** Sets the user's plan (credit_set_plan: an upgrade tops up this month's allowance once); the wallet after. */
export async function setPlan(db: Queryable, userId: string, plan: CreditPlanName, actor: CreditActor, defaultPlan: CreditPlanName): Promise<WalletRow> {
  const { rows } = await db.query<WalletRow>(`SELECT ${WALLET_COLUMNS} FROM credit_set_plan($1::uuid, $2, $3::uuid, $4, $5) w JOIN credit_plans p ON p.plan = w.plan`, [
    userId,
    plan,
    actor.userId,
    actor.label,
    defaultPlan,
  ]);
  return rows[0]!;
}

/** A user's wallet as it stands, without opening it (a wallet not opened this month shows the allowance it will open with); undefined: no such user. */
export async function readWallet(db: Queryable, userId: string, defaultPlan: CreditPlanName): Promise<WalletRow | undefined> {
  const { rows } = await db.query<WalletRow>(
    `WITH month AS (SELECT date_trunc('month', now() AT TIME ZONE 'UTC')::date AS start)
     SELECT u.id AS user_id, coalesce(w.plan, $2) AS plan,
            (CASE WHEN w.period_start = m.start THEN w.allowance ELSE p.monthly_allowance END)::text AS allowance,
            coalesce(w.granted, 0)::numeric(20,4)::text AS granted, coalesce(w.held, 0)::numeric(20,4)::text AS held, to_char(m.start, 'YYYY-MM-DD') AS period_start,
            p.low_balance_threshold::text, w.low_balance_since
       FROM users u CROSS JOIN month m
       LEFT JOIN credit_wallets w ON w.user_id = u.id
       JOIN credit_plans p ON p.plan = coalesce(w.plan, $2)
      WHERE u.id = $1::uuid`,
    [userId, defaultPlan],
  );
  return rows[0];
}

/** Sets (or, with null, removes) the runtime override of CREDIT_ENFORCEMENT, audited with before and after, in one transaction. */
export async function setEnforcementOverride(client: pg.ClientBase, mode: CreditEnforcement | null, actor: CreditActor): Promise<void> {
  await client.query("BEGIN");
  try {
    const { rows } = await client.query<{ value: unknown }>("SELECT value FROM app_settings WHERE key = $1 FOR UPDATE", [CREDIT_ENFORCEMENT_SETTING]);
    if (mode === null) await client.query("DELETE FROM app_settings WHERE key = $1", [CREDIT_ENFORCEMENT_SETTING]);
    else {
      await client.query(
        `INSERT INTO app_settings (key, value, updated_by) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_by = EXCLUDED.updated_by, updated_at = now()`,
        [CREDIT_ENFORCEMENT_SETTING, { mode }, actor.userId],
      );
    }
    await client.query("INSERT INTO admin_audit_log (id, actor_id, actor, action, target, before, after) VALUES (gen_random_uuid(), $1, $2, 'credits.setEnforcement', $3, $4, $5)", [
      actor.userId,
      actor.label,
      CREDIT_ENFORCEMENT_SETTING,
      rows[0]?.value ?? null,
      mode === null ? null : { mode },
    ]);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

export interface CreditPlanRow {
  plan: string;
  monthly_allowance: string;
  low_balance_threshold: string;
}

export const CREDIT_PLAN_COLUMNS = "plan, monthly_allowance::text, low_balance_threshold::text";

/** Sets a plan's low-balance line, audited with before and after; each wallet on the plan is measured against it at its next balance change. */
export async function setLowBalanceThreshold(client: pg.ClientBase, plan: CreditPlanName, threshold: Prisma.Decimal, actor: CreditActor): Promise<CreditPlanRow> {
  await client.query("BEGIN");
  try {
    const { rows: before } = await client.query<{ threshold: string }>("SELECT low_balance_threshold::text AS threshold FROM credit_plans WHERE plan = $1 FOR UPDATE", [plan]);
    const { rows } = await client.query<CreditPlanRow>(`UPDATE credit_plans SET low_balance_threshold = $2 WHERE plan = $1 RETURNING ${CREDIT_PLAN_COLUMNS}`, [plan, threshold.toFixed(4)]);
    await client.query("INSERT INTO admin_audit_log (id, actor_id, actor, action, target, before, after) VALUES (gen_random_uuid(), $1, $2, 'credits.setLowBalanceThreshold', $3, $4, $5)", [
      actor.userId,
      actor.label,
      `plan:${plan}`,
      { lowBalanceThreshold: before[0]!.threshold },
      { lowBalanceThreshold: rows[0]!.low_balance_threshold },
    ]);
    await client.query("COMMIT");
    return rows[0]!;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}
