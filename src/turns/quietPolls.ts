// While a followed turn sends nothing live, its kept events are read again
// from the database (a lost channel costs latency and deltas, never events;
// the same read ends a turn whose lease has lapsed). That read happens once
// per turn on this instance, however many subscribers follow the turn, so
// idle subscribers cost the database nothing each.

/** What one quiet poll found: the turn's kept events after the slowest follower's last sequence. */
export type Polled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** One subscriber of a polled turn. */
export class PollFollower<T> {
  /** The last sequence this subscriber sent: the poll reads after the smallest. */
  last: number;
  private resolve: ((polled: Polled<T>) => void) | undefined;
  /** Resolves with the next poll's result; re-armed by `consumed()`. */
  polled!: Promise<Polled<T>>;

  constructor(
    last: number,
    private readonly poll: TurnPoll<T>,
  ) {
    this.last = last;
    this.consumed();
  }

  /** A poll result not yet taken is kept; a newer one meanwhile is dropped (the next poll reads it again). */
  deliver(polled: Polled<T>): void {
    const resolve = this.resolve;
    this.resolve = undefined;
    resolve?.(polled);
  }

  /** Called after taking `polled`: the next poll resolves a fresh promise. */
  consumed(): void {
    this.polled = new Promise((resolve) => (this.resolve = resolve));
  }

  /** A live event arrived for the turn: it is not quiet, so the poll waits again. */
  heard(): void {
    this.poll.heard();
  }

  leave(): void {
    this.poll.leave(this);
  }
}

class TurnPoll<T> {
  private readonly followers = new Set<PollFollower<T>>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly turnId: string,
    private readonly read: (turnId: string, after: number) => Promise<T>,
    intervalMs: number,
    private readonly emptied: () => void,
  ) {
    this.timer = setTimeout(() => void this.run(), intervalMs);
  }

  join(last: number): PollFollower<T> {
    const follower = new PollFollower(last, this);
    this.followers.add(follower);
    return follower;
  }

  heard(): void {
    this.timer.refresh();
  }

  leave(follower: PollFollower<T>): void {
    this.followers.delete(follower);
    if (this.followers.size > 0) return;
    clearTimeout(this.timer);
    this.emptied();
  }

  private async run(): Promise<void> {
    if (this.followers.size === 0) return;
    let after = Infinity;
    for (const follower of this.followers) after = Math.min(after, follower.last);
    let polled: Polled<T>;
    try {
      polled = { ok: true, value: await this.read(this.turnId, after) };
    } catch (error) {
      polled = { ok: false, error };
    }
    for (const follower of this.followers) follower.deliver(polled);
    if (this.followers.size > 0) this.timer.refresh();
  }
}

/** This instance's quiet polls, one per followed turn. */
export class QuietPolls<T> {
  private readonly turns = new Map<string, TurnPoll<T>>();

  constructor(
    private readonly read: (turnId: string, after: number) => Promise<T>,
    private readonly intervalMs: number,
  ) {}

  join(turnId: string, last: number): PollFollower<T> {
    let poll = this.turns.get(turnId);
    if (!poll) {
      const created = new TurnPoll<T>(turnId, this.read, this.intervalMs, () => {
        if (this.turns.get(turnId) === created) this.turns.delete(turnId);
      });
      this.turns.set(turnId, created);
      poll = created;
    }
    return poll.join(last);
  }

  /** How many turns are polled here (for tests). */
  get size(): number {
    return this.turns.size;
  }
}
