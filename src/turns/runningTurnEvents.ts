// The kept events of a turn this instance runs, as its run published them
// (TurnRun.kept), so that a subscriber here catches up without reading the
// database (one statement fewer per followed turn). What a run holds is
// complete: the run is registered before it publishes the events kept at
// accept, every later kept event is published in the order it was committed,
// right after its commit, and the run is dropped when it is over. A kept event
// committed but not yet published is not there, but the subscriber is
// listening live before it looks (eventStream.ts), so it arrives that way.
// Turns run by another instance, or whose run is over, are read from the
// database as before.
import { isTerminal, type TurnEvent } from "./events.ts";

/** What a run keeps of what it published. */
export interface KeptByRun {
  userId: string;
  kept: TurnEvent[];
}

/** A follower's catch-up: whose turn it is, its kept events after a sequence, and whether its ending is among them. */
export interface LocalCatchUp {
  userId: string;
  events: TurnEvent[];
  ended: boolean;
}

/** Called with every event the run publishes; deltas are not kept. */
export function keepPublished(run: KeptByRun, event: TurnEvent): void {
  if (event.type !== "StepDelta") run.kept.push(event);
}

/** The run's kept events after `after`. */
export function keptSince(run: KeptByRun, after: number): LocalCatchUp {
  return { userId: run.userId, events: run.kept.filter((event) => event.sequence > after), ended: run.kept.some(isTerminal) };
}
