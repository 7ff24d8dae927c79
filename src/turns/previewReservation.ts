// A metered routing preview is reserved before the manager is called: under
// the same per-user lock as a send, the rate-limit windows (turns and
// previews together) are checked and the preview recorded, so concurrent
// previews on any instance cannot exceed the limit together. With credit
// enforcement on, its one call's bound is held there too (keyed by the
// preview's id), as a turn's first call is at accept: under enforce a preview
// whose call does not fit is refused with nothing written. The hold is
// released once the call's row is recorded, or by the lease sweep if the
// process dies first.
import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { CreditEnforcement, CreditPlanName } from "../config/credits.ts";
import { readEnforcement } from "../credits/enforcement.ts";
import { CallFunding, type FundingDeps } from "../credits/callFunding.ts";
import type { HoldScope } from "../credits/callHolds.ts";
import type { CreditUnits } from "../metering/creditUnits.ts";
import type { LlmRequest } from "../llm/types.ts";
import { inTransaction, queryOne, queryRows, sql } from "../db/sql.ts";
import { userGate, type GateRow } from "./acceptSql.ts";
import { assertWithinRateLimit } from "./rateLimit.ts";

/** The preview's call, the plan a new wallet opens on, the instance's CREDIT_ENFORCEMENT and the session's room. */
export interface PreviewCredits {
  request: LlmRequest;
  defaultPlan: CreditPlanName;
  configured: CreditEnforcement;
  roomId: string | null;
  limits: FundingDeps["limits"];
}

export interface ReservedPreview {
  id: string;
  /** Whose credits hold the call, or null with enforcement off. */
  holdScope: HoldScope | null;
  held: CreditUnits;
}

export async function reservePreview(
  pool: pg.Pool,
  limits: { turnsPerMinute: number; turnsPerHour: number },
  userId: string,
  sessionId: string,
  credits: PreviewCredits,
): Promise<ReservedPreview> {
  return inTransaction(pool, async (client) => {
    // The lock, held to the commit, and the windows counted after it (sql/turn_accept_gate.sql).
    assertWithinRateLimit((await queryOne<GateRow>(client, userGate(userId, limits)))!, limits);
    const id = randomUUID();
    await queryRows(client, sql`INSERT INTO routing_previews (id, user_id, session_id) VALUES (${id}::uuid, ${userId}::uuid, ${sessionId}::uuid)`);
    const enforcement = await readEnforcement(client, credits.configured);
    if (enforcement === "off") return { id, holdScope: null, held: 0n };
    const holdScope: HoldScope = { userId, turnId: id, ofTurn: false, roomId: credits.roomId, defaultPlan: credits.defaultPlan, enforce: enforcement === "enforce" };
    const funding = new CallFunding({ db: client, prepared: undefined, limits: credits.limits }, holdScope);
    await funding.holdNow(credits.request);
    const refused = funding.refusal();
    if (refused) throw refused.toRefusal();
    return { id, holdScope, held: funding.held() };
  });
}
