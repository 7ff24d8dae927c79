// CREDIT_ENFORCEMENT at runtime (SPEC 13): the environment sets it per
// instance; an owner's override in app_settings applies to every instance at
// once (sends read it in their accept statement, under the per-user lock).
import { z } from "zod";
import { queryOne, raw, sql, type Queryable } from "../db/sql.ts";
import { CREDIT_ENFORCEMENTS, type CreditEnforcement } from "../config/credits.ts";

export const CREDIT_ENFORCEMENT_SETTING = "credit_enforcement";

/** The override as an SQL expression (text of code constants), for statements that read it along with other things. */
export const CREDIT_ENFORCEMENT_OVERRIDE_SQL = `(SELECT value->>'mode' FROM app_settings WHERE key = '${CREDIT_ENFORCEMENT_SETTING}')`;

const overrideValue = z.enum(CREDIT_ENFORCEMENTS);

/** An owner's override as stored; a value this build does not know is not guessed at: the strictest mode applies. */
export function parseEnforcementOverride(stored: string | null | undefined): CreditEnforcement | null {
  if (stored === null || stored === undefined) return null;
  const parsed = overrideValue.safeParse(stored);
  return parsed.success ? parsed.data : "enforce";
}

export async function readEnforcementOverride(db: Queryable): Promise<CreditEnforcement | null> {
  const row = await queryOne<{ mode: string | null }>(db, sql`SELECT ${raw(CREDIT_ENFORCEMENT_OVERRIDE_SQL)} AS mode`);
  return parseEnforcementOverride(row?.mode);
}

/** The mode in force: the override when an owner set one, the environment's otherwise. */
export async function readEnforcement(db: Queryable, configured: CreditEnforcement): Promise<CreditEnforcement> {
  return (await readEnforcementOverride(db)) ?? configured;
}
