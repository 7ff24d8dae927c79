// The turnEvents subscription source: the turn's kept events after the
// client's sequence, then live ones, on any instance (turns/eventStream.ts).
import { GraphQLError } from "graphql";
import type { Context } from "../context.ts";
import type { TurnEvent } from "../turns/events.ts";
import { isUuid } from "./turnQueries.ts";
import { viewerId } from "./viewer.ts";
import { refusalFor } from "../auth/refusal.ts";
import { queryOne, sql } from "../db/sql.ts";
import { LAST_RECORDED_BALANCE } from "../turns/stepSql.ts";

export async function subscribeTurnEvents(turnId: string, afterSequence: number, context: Context): Promise<AsyncIterable<TurnEvent>> {
  // The subscribe step runs before field authorization would: an anonymous client gets the typed refusal here.
  if (!context.viewer?.admitted) throw refusalFor(context);
  const stream = isUuid(turnId) ? await context.services.turns.follow(turnId, afterSequence, viewerId(context)) : null;
  if (!stream) throw new GraphQLError("Turn not found.", { extensions: { code: "NOT_FOUND" } });
  return stream;
}

/** The balance the turn's release recorded (or, without a hold, its last debit's): what the wallet had available right after it. */
export async function creditsAvailableAfterTurn(turnId: string, context: Context): Promise<string | null> {
  const row = await queryOne<{ balance_after: string }>(context.services.pool, sql`SELECT balance_after::text FROM (${LAST_RECORDED_BALANCE(turnId)}) AS recorded`);
  return row?.balance_after ?? null;
}

/** Why the turn ended, as its row says (for an ending event kept without the reason). */
export async function turnStopReason(turnId: string, context: Context): Promise<string> {
  const row = await queryOne<{ stop_reason: string | null }>(context.services.pool, sql`SELECT stop_reason::text FROM turns WHERE id = ${turnId}::uuid`);
  return row?.stop_reason ?? "done";
}

/** The step's agent, as its row says (for a StepCompleted kept before events carried it). */
export async function stepAgentKey(stepId: string, context: Context): Promise<string | null> {
  const row = await queryOne<{ agent_key: string | null }>(context.services.pool, sql`SELECT agent_key FROM turn_steps WHERE id = ${stepId}::uuid`);
  return row?.agent_key ?? null;
}
