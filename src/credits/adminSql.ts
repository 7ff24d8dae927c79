// The credit administration statements shared by the GraphQL mutations and
// the ops commands, so both keep the same rules: the credit controls
// migration's functions do the arithmetic and the audit row. Hand-written:
// the arithmetic lives in SQL functions, which Prisma can only call raw.
import type pg from "pg";
import { ConflictError, ValidationError } from "../errors.ts";
import { Prisma } from "../generated/prisma/client.ts";
import { inTransaction, queryOne, queryRows, sql, type Queryable } from "../db/sql.ts";
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
  /** An adjustment may take available below zero only when the owner says so (sql/credit_grant.sql). */
  allowNegativeBalance: boolean;
}

interface GrantRow {
  id: string;
  user_id: string;
  kind: string;
  amount: string;
}

/**
 * Records a grant or adjustment once per key; a key reused for a different
 * grant is a ConflictError, an adjustment that would take available below
 * zero without consent a ValidationError (nothing written). Returns the
 * transaction's id.
 */
export async function recordGrant(db: Queryable, request: GrantRequest, actor: CreditActor): Promise<string> {
  let recorded: GrantRow;
  try {
    recorded = (await queryOne<GrantRow>(
      db,
      sql`SELECT id, user_id, kind::text, amount::text
            FROM credit_grant(${request.userId}::uuid, ${request.kind}::credit_transaction_kind, ${request.amount.toFixed(4)}::numeric, ${actor.userId}::uuid,
                              ${actor.label}, ${`admin:${request.idempotencyKey}`}, ${request.note}, ${request.defaultPlan}, ${request.allowNegativeBalance})`,
    ))!;
  } catch (error) {
    if ((error as { constraint?: string }).constraint === "credit_available_not_negative") {
      const to = /credits to (-?[\d.]+)/.exec((error as Error).message)?.[1];
      throw new ValidationError([{ path: ["amount"], message: `would take the wallet's available credits below zero (to ${to}); allow a negative balance explicitly to record it anyway` }]);
    }
    throw error;
  }
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
  /** credit_available (sql/credit_available.sql): the one formula. */
  available: string;
  period_start: string;
  low_balance_threshold: string;
  low_balance_since: Date | null;
}

/** The columns of a WalletRow, from a wallet `w` and its plan `p`. */
export const WALLET_COLUMNS = sql`w.user_id, w.plan, w.allowance::text, w.granted::text, w.held::text, credit_available(w)::text AS available,
  to_char(w.period_start, 'YYYY-MM-DD') AS period_start, p.low_balance_threshold::text, w.low_balance_since`;

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
  return {
    userId: row.user_id,
    plan: row.plan,
    allowance: row.allowance,
    granted: row.granted,
    held: row.held,
    available: row.available,
    periodStart: new Date(`${row.period_start}T00:00:00Z`),
    periodEnd: periodEndOf(row.period_start),
    lowBalanceThreshold: row.low_balance_threshold,
    lowBalanceSince: row.low_balance_since,
  };
}

/** Sets the user's plan (credit_set_plan: an upgrade tops up this month's allowance once); the wallet after. */
export async function setPlan(db: Queryable, userId: string, plan: CreditPlanName, actor: CreditActor, defaultPlan: CreditPlanName): Promise<WalletRow> {
  const row = await queryOne<WalletRow>(
    db,
    sql`SELECT ${WALLET_COLUMNS} FROM credit_set_plan(${userId}::uuid, ${plan}, ${actor.userId}::uuid, ${actor.label}, ${defaultPlan}) w JOIN credit_plans p ON p.plan = w.plan`,
  );
  return row!;
}

/** A user's wallet as it stands, without opening it (a wallet not opened this month shows the allowance it will open with); undefined: no such user. */
export async function readWallet(db: Queryable, userId: string, defaultPlan: CreditPlanName): Promise<WalletRow | undefined> {
  return queryOne<WalletRow>(
    db,
    sql`WITH month AS (SELECT date_trunc('month', now() AT TIME ZONE 'UTC')::date AS start),
     wallet AS (
       SELECT u.id AS user_id, coalesce(w.plan, ${defaultPlan}) AS plan,
              CASE WHEN w.period_start = m.start THEN w.allowance ELSE p.monthly_allowance END AS allowance,
              coalesce(w.granted, 0)::numeric(20,4) AS granted, coalesce(w.held, 0)::numeric(20,4) AS held, m.start AS period_start,
              p.low_balance_threshold, w.low_balance_since
         FROM users u CROSS JOIN month m
         LEFT JOIN credit_wallets w ON w.user_id = u.id
         JOIN credit_plans p ON p.plan = coalesce(w.plan, ${defaultPlan})
        WHERE u.id = ${userId}::uuid)
     SELECT user_id, plan, allowance::text, granted::text, held::text, credit_available(allowance, granted, held)::text AS available,
            to_char(period_start, 'YYYY-MM-DD') AS period_start, low_balance_threshold::text, low_balance_since
       FROM wallet`,
  );
}

/** An admin_audit_log row; `before` and `after` are stored as jsonb. */
function auditRow(actor: CreditActor, action: string, target: string, before: unknown, after: unknown) {
  return sql`INSERT INTO admin_audit_log (id, actor_id, actor, action, target, before, after)
             VALUES (gen_random_uuid(), ${actor.userId}, ${actor.label}, ${action}, ${target}, ${before}, ${after})`;
}

/** Sets (or, with null, removes) the runtime override of CREDIT_ENFORCEMENT, audited with before and after, in one transaction. */
export async function setEnforcementOverride(pool: pg.Pool, mode: CreditEnforcement | null, actor: CreditActor): Promise<void> {
  await inTransaction(pool, async (tx) => {
    const before = await queryOne<{ value: unknown }>(tx, sql`SELECT value FROM app_settings WHERE key = ${CREDIT_ENFORCEMENT_SETTING} FOR UPDATE`);
    if (mode === null) await queryRows(tx, sql`DELETE FROM app_settings WHERE key = ${CREDIT_ENFORCEMENT_SETTING}`);
    else {
      await queryRows(
        tx,
        sql`INSERT INTO app_settings (key, value, updated_by) VALUES (${CREDIT_ENFORCEMENT_SETTING}, ${{ mode }}, ${actor.userId})
            ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_by = EXCLUDED.updated_by, updated_at = now()`,
      );
    }
    await queryRows(tx, auditRow(actor, "credits.setEnforcement", CREDIT_ENFORCEMENT_SETTING, before?.value ?? null, mode === null ? null : { mode }));
  });
}

export interface CreditPlanRow {
  plan: string;
  monthly_allowance: string;
  low_balance_threshold: string;
}

export const CREDIT_PLAN_COLUMNS = sql`plan, monthly_allowance::text, low_balance_threshold::text`;

/** Sets a plan's low-balance line, audited with before and after; each wallet on the plan is measured against it at its next balance change. */
export async function setLowBalanceThreshold(pool: pg.Pool, plan: CreditPlanName, threshold: Prisma.Decimal, actor: CreditActor): Promise<CreditPlanRow> {
  return inTransaction(pool, async (tx) => {
    const before = await queryOne<{ threshold: string }>(tx, sql`SELECT low_balance_threshold::text AS threshold FROM credit_plans WHERE plan = ${plan} FOR UPDATE`);
    const after = (await queryOne<CreditPlanRow>(tx, sql`UPDATE credit_plans SET low_balance_threshold = ${threshold.toFixed(4)} WHERE plan = ${plan} RETURNING ${CREDIT_PLAN_COLUMNS}`))!;
    await queryRows(
      tx,
      auditRow(actor, "credits.setLowBalanceThreshold", `plan:${plan}`, { lowBalanceThreshold: before!.threshold }, { lowBalanceThreshold: after.low_balance_threshold }),
    );
    return after;
  });
}
