// A turn's event stream for one subscriber, on any instance: the kept events
// after the sequence the client has (from this instance's memory when it runs
// the turn, runningTurnEvents.ts; else from the database), then live events
// (the event channel), each sequence at most once and in order, until the
// turn's ending. While no live event arrives the database is read again
// every FALLBACK_POLL_MS, once per turn on this instance (quietPolls.ts).
import type pg from "pg";
import { GraphQLError } from "graphql";
import { queryOne, sql } from "../db/sql.ts";
import type { HotStatements } from "../db/statements.ts";
import { isTerminal, type TurnEvent } from "./events.ts";
import { storedEvent } from "./eventSql.ts";
import type { TurnEventPubSub } from "./eventChannel.ts";
import { QuietPolls, type PollFollower } from "./quietPolls.ts";
import type { LocalCatchUp } from "./runningTurnEvents.ts";

const FALLBACK_POLL_MS = 2_000;

/** One round trip: the turn's owner and state, and its kept events after $2. */
const catchUpSql = (turnId: string, after: number) => sql`
  SELECT t.user_id::text AS user_id, t.status = 'running' AS running, t.lease_expires_at < now() AS lapsed,
         coalesce((SELECT json_agg(json_build_object('sequence', e.sequence, 'type', e.type, 'payload', e.payload, 'created_at', e.created_at) ORDER BY e.sequence)
                     FROM turn_events e WHERE e.turn_id = t.id AND e.sequence > ${after}), '[]'::json) AS events
    FROM turns t WHERE t.id = ${turnId}::uuid`;

interface CatchUpRow {
  user_id: string;
  running: boolean;
  lapsed: boolean;
  events: { sequence: number; type: TurnEvent["type"]; payload: Record<string, unknown>; created_at: string }[];
}

interface CaughtUp {
  userId: string | null;
  events: TurnEvent[];
  /** The turn has ended: a client with every event up to its ending gets nothing more. */
  ended: boolean;
}

export const turnTopic = (turnId: string) => `turn:${turnId}` as const;

export interface EventStreamDeps {
  pubsub: TurnEventPubSub;
  pool: pg.Pool;
  /** The catch-up read runs once per subscriber of every turn: prepared where the pool allows. */
  statements?: HotStatements;
  /** A turn this instance runs: its subscribers here catch up from what its run published (null: not run here). */
  catchUpHere?(turnId: string, after: number): LocalCatchUp | null;
  /** Ends the turn if its lease has lapsed (and publishes its ending). */
  endIfLapsed(turnId: string): Promise<void>;
  /** Aborted when this instance shuts down: the stream ends, telling the client where to resume. */
  closing: AbortSignal;
  fallbackPollMs?: number;
}

/** This instance's turn streams: they share one quiet poll per turn. */
export class TurnStreams {
  private readonly polls: QuietPolls<CaughtUp>;

  constructor(private readonly deps: EventStreamDeps) {
    // The quiet poll reads the database even for a turn run here: it stands in for live events that did not
    // come, and the one event this instance would not have is an ending another instance kept (its lease lapsed).
    this.polls = new QuietPolls((turnId, after) => catchUp(deps, turnId, after), deps.fallbackPollMs ?? FALLBACK_POLL_MS);
  }

  /**
   * Opens the stream for `userId`: null when the turn is not theirs (or does
   * not exist). Subscribed to live events before the kept ones are read, so
   * an event published meanwhile arrives both ways and is sent once.
   */
  async open(turnId: string, afterSequence: number, userId: string): Promise<AsyncGenerator<TurnEvent> | null> {
    const live = this.deps.pubsub.subscribe(turnTopic(turnId))[Symbol.asyncIterator]();
    const pending = live.next();
    const first =
      this.deps.catchUpHere?.(turnId, afterSequence) ??
      (await catchUp(this.deps, turnId, afterSequence).catch(async (error: unknown) => {
        await live.return?.();
        throw error;
      }));
    if (first.userId !== userId) {
      await live.return?.();
      return null;
    }
    const stream = followTurn(this.deps.closing, { live, pending, first, join: () => this.polls.join(turnId, afterSequence) });
    // A generator waiting for the next event takes a return() only once that event comes (a client gone
    // mid-call would be held until then), and one returned before its first read never runs its finally.
    // Ending the live subscription first covers both: its pending read resolves done, which ends the wait
    // as a finished subscription does, and nothing is left subscribed (its finally ends it again, harmlessly).
    const returnGenerator = stream.return.bind(stream);
    stream.return = async (value) => {
      await live.return?.();
      return returnGenerator(value);
    };
    return stream;
  }

  /** Turns polled on this instance right now (one per followed turn). */
  get polledTurns(): number {
    return this.polls.size;
  }
}

/** The stream's last message when its server shuts down: the client reconnects (to any instance) with afterSequence. */
export function reconnectError(lastSequence: number): GraphQLError {
  return new GraphQLError(`This server is shutting down. Subscribe again with afterSequence: ${lastSequence}; every later event follows once.`, {
    extensions: { code: "SERVER_SHUTTING_DOWN", resumeAfterSequence: lastSequence },
  });
}

/** Resolves when the instance starts shutting down; `dispose` removes the listener (the signal outlives every stream). */
function aborted(signal: AbortSignal): { closing: Promise<"closing">; dispose(): void } {
  let onAbort: (() => void) | undefined;
  const closing = new Promise<"closing">((resolve) => {
    onAbort = () => resolve("closing");
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  return { closing, dispose: () => signal.removeEventListener("abort", onAbort!) };
}

/** Events cross Redis as JSON: the time comes back as a string. */
function received(event: TurnEvent): TurnEvent {
  return event.at instanceof Date ? event : { ...event, at: new Date(event.at as unknown as string) };
}

async function readCatchUp(deps: EventStreamDeps, turnId: string, after: number): Promise<CatchUpRow | undefined> {
  return queryOne<CatchUpRow>(deps.pool, catchUpSql(turnId, after), deps.statements);
}

/**
 * The kept events after `after`, and whether the turn has ended. A turn
 * whose owner is gone is ended first, so its ending is among them.
 */
async function catchUp(deps: EventStreamDeps, turnId: string, after: number): Promise<CaughtUp> {
  let row = await readCatchUp(deps, turnId, after);
  if (row?.running && row.lapsed) {
    await deps.endIfLapsed(turnId);
    row = await readCatchUp(deps, turnId, after);
  }
  if (!row) return { userId: null, events: [], ended: true };
  const events = row.events.map((event) => storedEvent(turnId, { ...event, created_at: new Date(event.created_at) }));
  return { userId: row.user_id, events, ended: !row.running };
}

async function* followTurn(
  closingSignal: AbortSignal,
  opened: { live: AsyncIterator<TurnEvent>; pending: Promise<IteratorResult<TurnEvent>>; first: CaughtUp; join: () => PollFollower<CaughtUp> },
): AsyncGenerator<TurnEvent> {
  const { live } = opened;
  let pending = opened.pending;
  // Joined here, not when opened: a stream returned before its first read never runs its finally.
  const follower = opened.join();
  const { closing, dispose } = aborted(closingSignal);
  try {
    let caughtUp = opened.first;
    for (;;) {
      for (const event of caughtUp.events) {
        if (event.sequence <= follower.last) continue;
        yield event;
        follower.last = event.sequence;
        if (isTerminal(event)) return;
      }
      if (caughtUp.ended) return;
      const next = await Promise.race([pending, follower.polled, closing]);
      if (next === "closing") throw reconnectError(follower.last);
      if ("ok" in next) {
        follower.consumed();
        if (!next.ok) throw next.error;
        caughtUp = next.value;
      } else if (next.done) return;
      else {
        follower.heard();
        pending = live.next();
        caughtUp = { userId: caughtUp.userId, events: [received(next.value)], ended: false };
      }
    }
  } finally {
    dispose();
    follower.leave();
    await live.return?.();
  }
}

/** Live delivery: fire-and-forget (kept events are in the database already). */
export function publishTurnEvent(pubsub: TurnEventPubSub, event: TurnEvent): void {
  pubsub.publish(turnTopic(event.turnId), event);
}
