// Turn progress events (SPEC 12). Every event has a sequence number that
// means the same thing live, after a restart and on any instance: every
// event but StepDelta is kept in turn_events with its number; the deltas
// after a kept event take the numbers up to the next one and are only sent
// live. Kept events are numbered in multiples of KEPT_STRIDE, so whoever ends
// a turn (its owner, or any instance after its lease lapsed) can number the
// ending past every delta a client may have seen, without knowing them.
import type { RosterEntry } from "./roster.ts";
import type { UsageSums } from "../metering/usageSums.ts";

export const KEPT_STRIDE = 100_000;

export type TurnEventPayload =
  | { type: "TurnStarted"; mode: string; roster: RosterEntry[] }
  | { type: "StepStarted"; stepId: string; stepSeq: number; kind: string; agentKey: string | null; modelAlias: string }
  | { type: "StepDelta"; stepId: string; delta: string }
  | { type: "StepCompleted"; stepId: string; agentKey?: string | null; status: string; output: string | null; error: string | null; usage: UsageSums }
  | { type: "RoundStarted"; round: number }
  | { type: "RoundCompleted"; round: number; usage: UsageSums }
  | { type: "TurnCompleted"; status: string; usage: UsageSums; stopReason?: string; creditsAvailableAfter?: string | null }
  | { type: "TurnFailed"; error: string; usage: UsageSums; stopReason?: string; creditsAvailableAfter?: string | null };

export type TurnEvent = TurnEventPayload & { turnId: string; sequence: number; at: Date };

/** The first step, when the accept starts it: an agent's, seq 1. */
export interface AcceptedStepFields {
  stepId: string;
  agentKey: string | null;
  modelAlias: string;
}

/** An event kept with the turn at accept, with its sequence. */
export interface AcceptedEvent {
  sequence: number;
  payload: Extract<TurnEventPayload, { type: "TurnStarted" | "StepStarted" }>;
}

/**
 * The events kept with the turn at accept, numbered: TurnStarted, and the
 * first step's StepStarted when the accept started it. The accept's insert
 * writes them and the run publishes them (steps.ts publishAccepted): one
 * definition, so a catch-up from memory and one from the database read alike.
 */
export function keptAtAccept(mode: string, roster: RosterEntry[], firstStep: AcceptedStepFields | null): AcceptedEvent[] {
  const events: AcceptedEvent[] = [{ sequence: KEPT_STRIDE, payload: { type: "TurnStarted", mode, roster } }];
  if (firstStep) events.push({ sequence: 2 * KEPT_STRIDE, payload: { type: "StepStarted", ...firstStep, stepSeq: 1, kind: "agent" } });
  return events;
}

export function isTerminal(event: Pick<TurnEvent, "type">): boolean {
  return event.type === "TurnCompleted" || event.type === "TurnFailed";
}

/** The numbers one running turn gives its events. */
export class EventNumbers {
  private deltas = 0;

  /** `keptSoFar`: how many kept events the turn already has (numbered 1 … keptSoFar strides). */
  constructor(private kept: number) {}

  nextKept(): number {
    this.kept += 1;
    this.deltas = 0;
    return this.kept * KEPT_STRIDE;
  }

  /** Gives back the number nextKept just gave, when the event it was for was not written (a step refused to start). */
  unuseKept(): void {
    this.kept -= 1;
  }

  /** Null once a step has sent KEPT_STRIDE − 1 deltas: its later text arrives whole with StepCompleted. */
  nextDelta(): number | null {
    if (this.deltas >= KEPT_STRIDE - 1) return null;
    this.deltas += 1;
    return this.kept * KEPT_STRIDE + this.deltas;
  }
}
