// The turnEvents subscription source: the turn's kept events after the
// client's sequence, then live ones, on any instance (turns/eventStream.ts).
import { GraphQLError } from "graphql";
import type { Context } from "../context.ts";
import type { TurnEvent } from "../turns/events.ts";
import { isUuid } from "./turnQueries.ts";
import { viewerId } from "./viewer.ts";
import { refusalFor } from "../auth/refusal.ts";

const OWNED_TURN = "SELECT 1 FROM turns WHERE id = $1 AND user_id = $2";

export async function subscribeTurnEvents(turnId: string, afterSequence: number, context: Context): Promise<AsyncIterable<TurnEvent>> {
  // The subscribe step runs before field authorization would: an anonymous client gets the typed refusal here.
  if (!context.viewer?.admitted) throw refusalFor(context);
  const owned = isUuid(turnId) && (await context.pool.query(OWNED_TURN, [turnId, viewerId(context)])).rowCount === 1;
  if (!owned) throw new GraphQLError("Turn not found.", { extensions: { code: "NOT_FOUND" } });
  return context.turns.follow(turnId, afterSequence);
}
