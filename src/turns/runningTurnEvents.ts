// The kept events of the turns this instance runs, as it published them, so
// that a subscriber here catches up without reading the database (one
// statement fewer per followed turn). What it holds for a turn is complete:
// the turn is entered before its run publishes the events kept at accept,
// every later kept event is published in the order it was committed, right
// after its commit, and the turn leaves when its run is over. A kept event
// committed but not yet published is not here, but the subscriber is
// listening live before it looks (eventStream.ts), so it arrives that way.
// Turns run by another instance, or whose run is over, are read from the
// database as before.
import { isTerminal, type TurnEvent } from "./events.ts";

interface RunningTurn {
  userId: string;
  events: TurnEvent[];
}

/** A follower's catch-up: whose turn it is, its kept events after a sequence, and whether its ending is among them. */
export interface LocalCatchUp {
  userId: string;
  events: TurnEvent[];
  ended: boolean;
}

export class RunningTurnEvents {
  private readonly turns = new Map<string, RunningTurn>();

  /** Before the run publishes anything. */
  enter(turnId: string, userId: string): void {
    this.turns.set(turnId, { userId, events: [] });
  }

  /** Every event published for any turn; only kept events of turns run here are held. */
  published(event: TurnEvent): void {
    if (event.type === "StepDelta") return;
    this.turns.get(event.turnId)?.events.push(event);
  }

  /** When the run is over (its ending published, or left to the lease sweep). */
  leave(turnId: string): void {
    this.turns.delete(turnId);
  }

  /** The turn's kept events after `after`, or null when it is not run here. */
  catchUp(turnId: string, after: number): LocalCatchUp | null {
    const turn = this.turns.get(turnId);
    if (!turn) return null;
    const events = turn.events.filter((event) => event.sequence > after);
    return { userId: turn.userId, events, ended: turn.events.some(isTerminal) };
  }
}
