// Turn progress events and the in-process bus that carries them. Each turn
// has its own log with a gap-free sequence (1, 2, 3 …); a subscriber gets
// the events after the sequence it already has, then live ones, with no gap
// and no duplicate because replay and registration happen in one tick.
import type { RosterEntry } from "./roster.ts";
import type { UsageSums } from "../metering/usageSums.ts";

export type TurnEventPayload =
  | { type: "TurnStarted"; mode: string; roster: RosterEntry[] }
  | { type: "StepStarted"; stepId: string; stepSeq: number; kind: string; agentKey: string | null; modelAlias: string }
  | { type: "StepDelta"; stepId: string; delta: string }
  | { type: "StepCompleted"; stepId: string; status: string; output: string | null; error: string | null; usage: UsageSums }
  | { type: "TurnCompleted"; status: string; usage: UsageSums }
  | { type: "TurnFailed"; error: string; usage: UsageSums };

export type TurnEvent = TurnEventPayload & { turnId: string; sequence: number; at: Date };

const RETAIN_FINISHED_MS = 5 * 60_000;

export function isTerminal(event: TurnEvent): boolean {
  return event.type === "TurnCompleted" || event.type === "TurnFailed";
}

interface TurnLog {
  /** The user who sent the message: the only one who may follow the turn. */
  ownerId: string;
  events: TurnEvent[];
  listeners: Set<(event: TurnEvent) => void>;
}

export class TurnEventBus {
  private readonly logs = new Map<string, TurnLog>();

  open(turnId: string, ownerId: string): void {
    this.logs.set(turnId, { ownerId, events: [], listeners: new Set() });
  }

  has(turnId: string): boolean {
    return this.logs.has(turnId);
  }

  /** The owner of a turn this process runs or recently ran; undefined otherwise. */
  ownerOf(turnId: string): string | undefined {
    return this.logs.get(turnId)?.ownerId;
  }

  emit(turnId: string, payload: TurnEventPayload): void {
    const log = this.logs.get(turnId);
    // A turn ends once: the lease sweep and the runner may both announce the end.
    if (!log || log.events.some(isTerminal)) return;
    const event = { ...payload, turnId, sequence: log.events.length + 1, at: new Date() } as TurnEvent;
    log.events.push(event);
    for (const listener of log.listeners) listener(event);
    if (isTerminal(event)) setTimeout(() => this.logs.delete(turnId), RETAIN_FINISHED_MS).unref();
  }

  /** Events after `afterSequence`, then live ones until the turn ends; null when this process has no log for the turn. */
  subscribe(turnId: string, afterSequence: number): AsyncIterable<TurnEvent> | null {
    const log = this.logs.get(turnId);
    if (!log) return null;
    const channel = new EventChannel();
    for (const event of log.events) if (event.sequence > afterSequence) channel.push(event);
    if (!log.events.some(isTerminal)) {
      const listener = (event: TurnEvent) => channel.push(event);
      log.listeners.add(listener);
      channel.onClose(() => log.listeners.delete(listener));
    }
    return channel;
  }
}

/** A push-to-pull queue that ends after a terminal event or when the consumer stops. */
export class EventChannel implements AsyncIterable<TurnEvent> {
  private readonly queue: TurnEvent[] = [];
  private waiting: ((result: IteratorResult<TurnEvent>) => void) | null = null;
  private ended = false;
  private readonly closers: (() => void)[] = [];

  push(event: TurnEvent): void {
    if (this.ended) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value: event, done: false });
    } else this.queue.push(event);
  }

  onClose(closer: () => void): void {
    this.closers.push(closer);
  }

  private close(): void {
    if (this.ended) return;
    this.ended = true;
    for (const closer of this.closers) closer();
    this.waiting?.({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<TurnEvent> {
    let finished = false;
    return {
      next: () => {
        if (finished) return Promise.resolve({ value: undefined, done: true });
        const event = this.queue.shift();
        if (event) {
          if (isTerminal(event)) {
            finished = true;
            this.close();
          }
          return Promise.resolve({ value: event, done: false });
        }
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          this.waiting = (result) => {
            if (!result.done && isTerminal(result.value)) {
              finished = true;
              this.close();
            }
            resolve(result);
          };
        });
      },
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
