// Credit administration (SPEC 13, SRS FR-ADMIN-003): owners set a user's plan
// and override CREDIT_ENFORCEMENT at runtime, both audited in the same
// transaction (credits/adminSql.ts, shared with the ops commands); owners and
// analysts read any user's wallet and history without writing anything.
import { z } from "zod";
import type { Context } from "../context.ts";
import { NotFoundError } from "../errors.ts";
import { CREDIT_ENFORCEMENTS, CREDIT_PLANS, type CreditEnforcement, type CreditPlanName } from "../config/credits.ts";
import { readEnforcementOverride } from "../credits/enforcement.ts";
import { CREDIT_PLAN_COLUMNS, readWallet, setEnforcementOverride, setLowBalanceThreshold, setPlan, type CreditPlanRow } from "../credits/adminSql.ts";
import { creditLimit } from "../credits/creditAmount.ts";
import { decodeId, parseInput } from "../validation/input.ts";
import { queryRows, sql } from "../db/sql.ts";
import { viewerId } from "./viewer.ts";
import { walletView, type WalletView } from "../credits/adminSql.ts";

export interface CreditEnforcementState {
  /** What this instance applies now. */
  mode: CreditEnforcement;
  /** The owner's override (every instance), or null. */
  override: CreditEnforcement | null;
  /** This instance's CREDIT_ENFORCEMENT. */
  configured: CreditEnforcement;
}

export async function creditEnforcementState(context: Context): Promise<CreditEnforcementState> {
  const override = await readEnforcementOverride(context.services.pool);
  const configured = context.services.config.credits.enforcement;
  return { mode: override ?? configured, override, configured };
}

const enforcementInput = z.object({ mode: z.enum(CREDIT_ENFORCEMENTS).nullable() });

/** Owner only: overrides CREDIT_ENFORCEMENT on every instance (null returns each to its own), audited with before and after. */
export async function setCreditEnforcement(input: { mode: CreditEnforcement | null }, context: Context): Promise<CreditEnforcementState> {
  const { mode } = parseInput(enforcementInput, input);
  const actorId = viewerId(context);
  await setEnforcementOverride(context.services.pool, mode, { userId: actorId, label: `user:${actorId}` });
  return creditEnforcementState(context);
}

const planInput = z.object({ userId: z.string(), plan: z.enum(CREDIT_PLANS) });

/** Owner only: the user's plan from now on; an upgrade tops up this month's allowance by the difference (credit_set_plan). */
export async function setUserPlan(input: { userId: string | number; plan: CreditPlanName }, context: Context): Promise<WalletView> {
  const parsed = parseInput(planInput, { ...input, userId: String(input.userId) });
  const userId = decodeId(parsed.userId, "User");
  const actorId = viewerId(context);
  if (!(await context.services.prisma.user.findUnique({ where: { id: userId }, select: { id: true } }))) throw new NotFoundError("User");
  return walletView(await setPlan(context.services.pool, userId, parsed.plan, { userId: actorId, label: `user:${actorId}` }, context.services.config.credits.defaultPlan));
}

/** Owners and analysts: a user's wallet as it stands, without opening it; null: no such user. */
export async function walletOfUser(userId: string, context: Context): Promise<WalletView | null> {
  const row = await readWallet(context.services.pool, userId, context.services.config.credits.defaultPlan);
  return row ? walletView(row) : null;
}

/** Owners and analysts: the plans, their allowances and low-balance lines. */
export async function creditPlans(context: Context): Promise<CreditPlanRow[]> {
  return queryRows<CreditPlanRow>(context.services.pool, sql`SELECT ${CREDIT_PLAN_COLUMNS} FROM credit_plans p ORDER BY p.monthly_allowance`);
}

const thresholdInput = z.object({ plan: z.enum(CREDIT_PLANS), threshold: creditLimit });

/** Owner only: a plan's low-balance line (10% of its allowance until changed), audited. */
export async function setPlanLowBalanceThreshold(input: { plan: CreditPlanName; threshold: string }, context: Context): Promise<CreditPlanRow> {
  const parsed = parseInput(thresholdInput, input);
  const actorId = viewerId(context);
  return setLowBalanceThreshold(context.services.pool, parsed.plan, parsed.threshold, { userId: actorId, label: `user:${actorId}` });
}
