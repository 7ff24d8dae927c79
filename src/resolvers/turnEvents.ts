// The turnEvents subscription source: this process's live log when it runs
// (or recently ran) the turn; otherwise the timeline rebuilt from the
// database, followed while the turn is still running elsewhere.
import { GraphQLError } from "graphql";
import type { Context } from "../context.ts";
import type { TurnEvent } from "../turns/events.ts";
import { isTerminal } from "../turns/events.ts";
import { timelineFromDatabase } from "../turns/timeline.ts";
import { isUuid } from "./turnQueries.ts";
import { viewerId } from "./viewer.ts";
import { refusalFor } from "../auth/refusal.ts";

const FOLLOW_POLL_MS = 500;
const OWNED_TURN = "SELECT 1 FROM turns WHERE id = $1 AND user_id = $2";

async function* followDatabase(context: Context, turnId: string, afterSequence: number): AsyncGenerator<TurnEvent> {
  let sent = afterSequence;
  for (;;) {
    const { events: timeline, leaseLapsed } = await timelineFromDatabase(context.prisma, turnId);
    for (const event of timeline.slice(sent)) {
      sent = event.sequence;
      yield event;
      if (isTerminal(event)) return;
    }
    // The turn has ended and the client already has every event up to its end (or claims to).
    if (timeline.some(isTerminal)) return;
    const live = context.turns.bus.subscribe(turnId, sent);
    if (live) {
      yield* live;
      return;
    }
    // Its owner is gone: end the turn now, and the next read shows how it ended.
    if (leaseLapsed) await context.turns.endIfLapsed(turnId);
    await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
  }
}

export async function subscribeTurnEvents(turnId: string, afterSequence: number, context: Context): Promise<AsyncIterable<TurnEvent>> {
  // The subscribe step runs before field authorization would: an anonymous client gets the typed refusal here.
  if (!context.viewer?.admitted) throw refusalFor(context);
  // A turn this process runs knows its owner; any other is looked up (plain pg: once per subscription).
  const userId = viewerId(context);
  const localOwner = context.turns.bus.ownerOf(turnId);
  const owned = localOwner !== undefined ? localOwner === userId : isUuid(turnId) && (await context.pool.query(OWNED_TURN, [turnId, userId])).rowCount === 1;
  if (!owned) throw new GraphQLError("Turn not found.", { extensions: { code: "NOT_FOUND" } });
  return context.turns.bus.subscribe(turnId, afterSequence) ?? followDatabase(context, turnId, afterSequence);
}
