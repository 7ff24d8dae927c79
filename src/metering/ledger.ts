// Writes one llm_call_events row per provider call, inside the caller's
// transaction, so the row commits together with the result it paid for.
import { randomUUID } from "node:crypto";
import { Prisma } from "../generated/prisma/client.ts";
import type { ProviderAttempt } from "../llm/types.ts";
import { chargeFor, type Charge } from "./charge.ts";
import { CURRENT_PRICING_VERSION } from "./pricing.ts";

/** Attribution (SPEC section 4): room calls set session_id, direct calls set direct_session_id, never both. */
export type CallScope = { kind: "room"; roomId: string; sessionId: string } | { kind: "direct"; sessionId: string };

export interface CallAttribution {
  userId: string;
  scope: CallScope;
  turnId: string | null;
  stepId: string | null;
  agentId: string | null;
  turnMode: string | null;
}

export interface LedgerEntry {
  id: string;
  charge: Charge;
  /** False when a row with the same provider request id was already recorded (not counted twice). */
  inserted: boolean;
}

export type LedgerClient = Pick<Prisma.TransactionClient, "$executeRaw">;

export interface LedgerInsert {
  id: string;
  charge: Charge;
  /** One INSERT statement; a duplicate provider request id inserts nothing. */
  sql: Prisma.Sql;
}

/** The ledger INSERT for one provider call, to run alone or inside a larger atomic statement. */
export function ledgerInsertSql(attribution: CallAttribution, attempt: ProviderAttempt): LedgerInsert {
  const id = randomUUID();
  const charge = chargeFor(attempt.usage, attempt.modelAlias, CURRENT_PRICING_VERSION);
  const { scope } = attribution;
  const roomId = scope.kind === "room" ? scope.roomId : null;
  const sessionId = scope.kind === "room" ? scope.sessionId : null;
  const directSessionId = scope.kind === "direct" ? scope.sessionId : null;
  // A retried write of the same provider request id is the same call: the
  // partial unique index turns it into a no-op instead of a second charge.
  const sql = Prisma.sql`
    INSERT INTO llm_call_events (
      id, user_id, room_id, direct_session_id, session_id, turn_id, step_id, agent_id,
      provider, model_alias, provider_model, input_tokens_fresh, input_tokens_cached,
      output_tokens, total_tokens, oe_tokens_computed, provider_cost_usd, credits_burned,
      latency_ms, status, pricing_version, request_id, call_kind, turn_mode)
    VALUES (
      ${id}::uuid, ${attribution.userId}::uuid, ${roomId}::uuid, ${directSessionId}, ${sessionId}::uuid,
      ${attribution.turnId}::uuid, ${attribution.stepId}::uuid, ${attribution.agentId},
      ${attempt.provider}, ${attempt.modelAlias}, ${attempt.providerModel}, ${charge.fresh}, ${charge.cached},
      ${charge.output}, ${charge.total}, ${charge.oeTokens.toFixed(4)}::numeric, ${charge.providerCostUsd.toFixed(8)}::numeric,
      ${charge.credits.toFixed(4)}::numeric, ${attempt.latencyMs}, ${attempt.status}, ${charge.pricingVersion},
      ${attempt.requestId}, ${attempt.callKind}, ${attribution.turnMode})
    ON CONFLICT (request_id) WHERE request_id IS NOT NULL DO NOTHING`;
  return { id, charge, sql };
}

export async function recordCall(tx: LedgerClient, attribution: CallAttribution, attempt: ProviderAttempt): Promise<LedgerEntry> {
  const insert = ledgerInsertSql(attribution, attempt);
  const inserted = await tx.$executeRaw(insert.sql);
  return { id: insert.id, charge: insert.charge, inserted: inserted === 1 };
}
