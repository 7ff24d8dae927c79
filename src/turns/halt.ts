// Stopping a running turn from outside its plan (SPEC 16): its owner's
// cancelTurn, or its wall-clock limit. The turn's AbortController aborts the
// provider call in flight (it returns with status "cancelled" and is metered
// with what it used), and every later call is refused before it starts.
import type { TurnStopReason } from "../generated/prisma/enums.ts";
import type { TurnRun } from "./run.ts";

export type HaltReason = Extract<TurnStopReason, "cancelled" | "timeout">;

/** A call that was not started because its turn was halted. */
export class TurnHalted extends Error {
  constructor(readonly reason: HaltReason) {
    super(reason === "cancelled" ? "the turn was cancelled" : "the turn reached its time limit");
    this.name = "TurnHalted";
  }
}

/** Stops the turn for `reason` unless it already stopped for another; idempotent. */
export function haltTurn(run: Pick<TurnRun, "stopped" | "control">, reason: HaltReason): void {
  run.stopped ??= reason;
  if (!run.control.signal.aborted) run.control.abort(new TurnHalted(reason));
}

/** Throws TurnHalted once the turn is halted: before every provider call. */
export function throwIfHalted(run: Pick<TurnRun, "control">): void {
  const reason = run.control.signal.reason as unknown;
  if (run.control.signal.aborted) throw reason instanceof TurnHalted ? reason : new TurnHalted("cancelled");
}

/** What a step stopped by a halt, and the turn, say. */
export function haltMessage(run: Pick<TurnRun, "turnLimits">, reason: HaltReason): string {
  return reason === "cancelled" ? "Cancelled by its owner." : `Stopped: the turn reached its time limit of ${run.turnLimits.timeLimitSeconds} s.`;
}
