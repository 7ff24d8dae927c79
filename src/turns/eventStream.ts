// A turn's event stream for one subscriber, on any instance: the kept events
// after the sequence the client has (from the database), then live events
// (the event channel), each sequence at most once and in order, until the
// turn's ending. While no live event arrives the database is read again
// every FALLBACK_POLL_MS, so a lost channel (Redis away) costs latency and
// deltas, never events; the same read ends a turn whose lease has lapsed.
import type pg from "pg";
import { GraphQLError } from "graphql";
import { isTerminal, type TurnEvent } from "./events.ts";
import { STORED_EVENTS_AFTER, storedEvent, type StoredEventRow } from "./eventSql.ts";
import type { TurnEventPubSub } from "./eventChannel.ts";

const FALLBACK_POLL_MS = 2_000;
const LEASE_STATE = "SELECT status = 'running' AS running, lease_expires_at < now() AS lapsed FROM turns WHERE id = $1";

export const turnTopic = (turnId: string) => `turn:${turnId}`;

export interface EventStreamDeps {
  pubsub: TurnEventPubSub;
  pool: pg.Pool;
  /** Ends the turn if its lease has lapsed (and publishes its ending). */
  endIfLapsed(turnId: string): Promise<void>;
  /** Aborted when this instance shuts down: the stream ends, telling the client where to resume. */
  closing: AbortSignal;
  fallbackPollMs?: number;
}

/** The stream's last message when its server shuts down: the client reconnects (to any instance) with afterSequence. */
export function reconnectError(lastSequence: number): GraphQLError {
  return new GraphQLError(`This server is shutting down. Subscribe again with afterSequence: ${lastSequence}; every later event follows once.`, {
    extensions: { code: "SERVER_SHUTTING_DOWN", resumeAfterSequence: lastSequence },
  });
}

function aborted(signal: AbortSignal): Promise<"closing"> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve("closing");
    else signal.addEventListener("abort", () => resolve("closing"), { once: true });
  });
}

/** Events cross Redis as JSON: the time comes back as a string. */
function received(event: TurnEvent): TurnEvent {
  return event.at instanceof Date ? event : { ...event, at: new Date(event.at as unknown as string) };
}

async function keptAfter(deps: EventStreamDeps, turnId: string, after: number): Promise<TurnEvent[]> {
  const { rows } = await deps.pool.query<StoredEventRow>(STORED_EVENTS_AFTER, [turnId, after]);
  return rows.map((row) => storedEvent(turnId, row));
}

/**
 * The kept events after `after`, and whether the turn has ended (a client
 * that already has the ending gets no more events, and its stream ends). A
 * turn whose owner is gone is ended first, so its ending is among them.
 */
async function catchUp(deps: EventStreamDeps, turnId: string, after: number): Promise<{ events: TurnEvent[]; ended: boolean }> {
  const { rows } = await deps.pool.query<{ running: boolean; lapsed: boolean }>(LEASE_STATE, [turnId]);
  const state = rows[0];
  if (state?.running && state.lapsed) await deps.endIfLapsed(turnId);
  const events = await keptAfter(deps, turnId, after);
  return { events, ended: !state?.running || (state.lapsed && events.some(isTerminal)) };
}

export async function* followTurn(deps: EventStreamDeps, turnId: string, afterSequence: number): AsyncGenerator<TurnEvent> {
  // Subscribed before the database is read: an event published meanwhile arrives both ways and is sent once.
  const live = deps.pubsub.subscribe(turnTopic(turnId))[Symbol.asyncIterator]();
  let pending = live.next();
  let last = afterSequence;
  const closing = aborted(deps.closing);
  try {
    let caughtUp = await catchUp(deps, turnId, last);
    for (;;) {
      for (const event of caughtUp.events) {
        if (event.sequence <= last) continue;
        yield event;
        last = event.sequence;
        if (isTerminal(event)) return;
      }
      if (caughtUp.ended) return;
      let timer: NodeJS.Timeout | undefined;
      const quiet = new Promise<"quiet">((resolve) => (timer = setTimeout(() => resolve("quiet"), deps.fallbackPollMs ?? FALLBACK_POLL_MS)));
      const next = await Promise.race([pending, quiet, closing]);
      clearTimeout(timer);
      if (next === "closing") throw reconnectError(last);
      if (next === "quiet") caughtUp = await catchUp(deps, turnId, last);
      else if (next.done) return;
      else {
        pending = live.next();
        caughtUp = { events: [received(next.value)], ended: false };
      }
    }
  } finally {
    await live.return?.();
  }
}

/** Live delivery: fire-and-forget (kept events are in the database already). */
export function publishTurnEvent(pubsub: TurnEventPubSub, event: TurnEvent): void {
  pubsub.publish(turnTopic(event.turnId), event);
}
