// Placing a turn's hold, inside the transaction that accepts it (SPEC 13).
// credit_hold_turn (credits migration) opens the wallet in its current
// period, locks it, and places the hold unless it is refused.
import type pg from "pg";
import type { Prisma } from "../generated/prisma/client.ts";
import { InsufficientCreditsError } from "../errors.ts";
import type { CreditEnforcement, CreditPlanName } from "./plans.ts";

export interface HoldRequest {
  userId: string;
  turnId: string;
  credits: Prisma.Decimal;
  defaultPlan: CreditPlanName;
  enforcement: Exclude<CreditEnforcement, "off">;
}

/** Places the hold; under `enforce`, a hold beyond what is available throws InsufficientCreditsError and places nothing. */
export async function placeTurnHold(client: pg.ClientBase, request: HoldRequest): Promise<void> {
  const required = request.credits.toFixed(4);
  const { rows } = await client.query<{ placed: boolean; available_before: string }>(
    "SELECT placed, available_before::text FROM credit_hold_turn($1::uuid, $2::uuid, $3::numeric, $4, $5)",
    [request.userId, request.turnId, required, request.defaultPlan, request.enforcement === "enforce"],
  );
  const result = rows[0]!;
  if (!result.placed) throw new InsufficientCreditsError(required, result.available_before);
}

/** What the user may hold now (allowance + granted − held), the wallet opened in its current period and locked for the caller's transaction. */
export async function availableCredits(client: Pick<pg.ClientBase, "query">, userId: string, defaultPlan: string): Promise<string> {
  const { rows } = await client.query<{ available: string }>("SELECT (allowance + granted - held)::text AS available FROM credit_wallet_current($1::uuid, $2)", [userId, defaultPlan]);
  return rows[0]!.available;
}
