// The walletEvents subscription source, one per instance. While anyone
// subscribes, one statement a second reads every new wallet event and hands
// each to its user's subscribers here, so the database's cost does not grow
// with subscribers. Ids are taken inside transactions, so a smaller id can
// commit after a larger one was read: ids read within LATE_COMMIT_MS stay
// above the scan's floor and are re-read, each delivered once. A user's own
// events commit in id order (each is written under the wallet's lock), which
// is what lets a subscriber resume after the last id it saw.
import { GraphQLError } from "graphql";
import { setMaxListeners } from "node:events";
import type pg from "pg";
import { logger, errorFields } from "../observability/logger.ts";
import { queryOne, queryRows, sql } from "../db/sql.ts";
import { WALLET_EVENT_COLUMNS, type WalletEventRecord } from "./walletEventRows.ts";

const LATE_COMMIT_MS = 10_000;
const PAGE = 1000;

interface Subscriber {
  userId: string;
  push(event: WalletEventRecord): void;
}

export class WalletEventFeed {
  private readonly subscribers = new Set<Subscriber>();
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  /** Every id at or below it was delivered (or predates the feed) at least LATE_COMMIT_MS ago. */
  private floor: bigint | null = null;
  /** Ids above the floor already handed out, with when they were first read. */
  private readonly seen = new Map<bigint, number>();
  private readonly closing = new AbortController();

  constructor(private readonly deps: { pool: pg.Pool; pollMs: number }) {
    // Every open walletEvents stream listens for the close until it ends: any number of them, not a leak.
    setMaxListeners(0, this.closing.signal);
  }

  /** Open walletEvents streams on this instance. */
  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /**
   * The user's events after `afterId` (none: from now on), then live ones,
   * until the client leaves or the instance closes. An iterator rather than a
   * generator: a client that disconnects while no event is due is removed at
   * once, not at its user's next event.
   */
  subscribe(userId: string, afterId: string | null): AsyncIterableIterator<WalletEventRecord> {
    const queue: WalletEventRecord[] = [];
    let last = afterId === null ? null : BigInt(afterId);
    let ready = afterId === null;
    let waiting: { resolve: (result: IteratorResult<WalletEventRecord>) => void; reject: (error: Error) => void } | null = null;
    let done = false;
    let failure: Error | null = null;
    const drain = () => {
      if (!ready) return;
      while (waiting && queue.length > 0) {
        const event = queue.shift()!;
        const id = BigInt(event.id);
        if (last !== null && id <= last) continue;
        last = id;
        const { resolve } = waiting;
        waiting = null;
        resolve({ value: event, done: false });
      }
    };
    const finish = (error: Error | null = null) => {
      if (done) return;
      done = true;
      failure = error;
      this.closing.signal.removeEventListener("abort", onClose);
      this.subscribers.delete(subscriber);
      if (this.subscribers.size === 0) this.stopPolling();
      if (error) waiting?.reject(error);
      else waiting?.resolve({ value: undefined, done: true });
      waiting = null;
    };
    const onClose = () => finish();
    const subscriber: Subscriber = { userId, push: (event) => (queue.push(event), drain()) };
    // Registered before the catch-up read, so nothing falls between the two.
    this.subscribers.add(subscriber);
    this.closing.signal.addEventListener("abort", onClose);
    if (this.closing.signal.aborted) finish();
    else this.ensurePolling();
    if (afterId !== null) {
      const catchUp = sql`SELECT ${WALLET_EVENT_COLUMNS} FROM wallet_events WHERE user_id = ${userId}::uuid AND id > ${afterId}::bigint ORDER BY id LIMIT ${PAGE}`;
      void queryRows<WalletEventRecord>(this.deps.pool, catchUp).then(
        (rows) => {
          // Live events read meanwhile may repeat caught-up ones: in id order, each goes once.
          queue.unshift(...rows);
          queue.sort((x, y) => (BigInt(x.id) < BigInt(y.id) ? -1 : 1));
          ready = true;
          drain();
        },
        (error: unknown) => {
          logger.warn({ component: "walletEvents", ...errorFields(error) }, "wallet event catch-up failed; the stream ends");
          finish(new GraphQLError(`Wallet events could not be read; subscribe again with afterId: ${afterId}.`, { extensions: { code: "INTERNAL_SERVER_ERROR" } }));
        },
      );
    }
    return {
      next: () => {
        if (failure) return Promise.reject(failure);
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => ((waiting = { resolve, reject }), drain()));
      },
      return: () => (finish(), Promise.resolve({ value: undefined, done: true })),
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /** Ends every subscription (they complete) and stops polling. */
  close(): void {
    this.closing.abort();
    this.stopPolling();
  }

  private ensurePolling(): void {
    if (this.timer || this.closing.signal.aborted) return;
    this.timer = setInterval(() => {
      this.polling ??= this.poll()
        .catch((error: unknown) => logger.warn({ component: "walletEvents", ...errorFields(error) }, "wallet event poll failed; retrying"))
        .finally(() => (this.polling = null));
    }, this.deps.pollMs);
    this.timer.unref();
  }

  private stopPolling(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.floor = null;
    this.seen.clear();
  }

  private async poll(): Promise<void> {
    const now = Date.now();
    if (this.floor === null) {
      // Events before the feed started are for catch-up reads, not for live subscribers.
      const row = await queryOne<{ id: string }>(this.deps.pool, sql`SELECT coalesce(max(id), 0)::text AS id FROM wallet_events`);
      this.floor = BigInt(row!.id);
      return;
    }
    const rows = await queryRows<WalletEventRecord>(
      this.deps.pool,
      sql`SELECT ${WALLET_EVENT_COLUMNS} FROM wallet_events WHERE id > ${this.floor.toString()}::bigint ORDER BY id LIMIT ${PAGE}`,
    );
    for (const event of rows) {
      const id = BigInt(event.id);
      if (this.seen.has(id)) continue;
      this.seen.set(id, now);
      for (const subscriber of this.subscribers) if (subscriber.userId === event.userId) subscriber.push(event);
    }
    this.advanceFloor(now, rows.length === PAGE);
  }

  /** Raises the floor over ids read long enough ago that nothing below them can still commit. */
  private advanceFloor(now: number, pageFull: boolean): void {
    const settled = [...this.seen].filter(([, at]) => pageFull || now - at >= LATE_COMMIT_MS).map(([id]) => id);
    if (settled.length === 0) return;
    const floor = settled.reduce((max, id) => (id > max ? id : max));
    for (const id of this.seen.keys()) if (id <= floor) this.seen.delete(id);
    this.floor = floor > this.floor! ? floor : this.floor;
  }
}
