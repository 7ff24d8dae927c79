// Where live turn events travel: graphql-yoga's pub/sub, in process when
// there is one instance (no REDIS_URL), over Redis (its Redis event target on
// ioredis) when there are several. Redis being away never fails a turn:
// publishing is fire-and-forget, and subscribers read the kept events from
// the database meanwhile (eventStream.ts). ioredis reconnects and
// re-subscribes by itself.
import { Redis } from "ioredis";
import { createPubSub, type PubSub } from "graphql-yoga";
import { createRedisEventTarget } from "@graphql-yoga/redis-event-target";
import type { TurnEvent } from "./events.ts";
import { logger } from "../observability/logger.ts";

export type TurnEventPubSub = PubSub<Record<string, [TurnEvent]>>;

export interface EventChannel {
  pubsub: TurnEventPubSub;
  /** Whether live events reach other instances right now (always true in process). */
  connected(): boolean;
  close(): Promise<void>;
}

const REPORT_INTERVAL_MS = 30_000;

function reportingOnce(what: string): (error: unknown) => void {
  let lastReportAt = 0;
  return (error) => {
    if (Date.now() - lastReportAt < REPORT_INTERVAL_MS) return;
    lastReportAt = Date.now();
    logger.warn({ component: "redis", code: (error as { code?: unknown }).code ?? null }, `redis ${what} failed; subscribers follow the database meanwhile`);
  };
}

function redisClient(url: string): Redis {
  // Commands fail at once while disconnected instead of queueing: a stale event is worth nothing.
  const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false });
  client.on("error", reportingOnce("connection"));
  return client;
}

export function createEventChannel(redisUrl: string | undefined): EventChannel {
  if (!redisUrl) return { pubsub: createPubSub<Record<string, [TurnEvent]>>(), connected: () => true, close: async () => undefined };
  const publisher = redisClient(redisUrl);
  const subscriber = redisClient(redisUrl);
  const publishFailed = reportingOnce("publish");
  const subscribeFailed = reportingOnce("subscribe");
  // The event target does not await Redis's answers: every promise it leaves is handled here.
  const eventTarget = createRedisEventTarget({
    publishClient: { publish: (channel: string, message: string) => publisher.publish(channel, message).catch(publishFailed) } as unknown as Redis,
    subscribeClient: new Proxy(subscriber, {
      get(target, property, receiver) {
        if (property === "subscribe" || property === "unsubscribe") {
          return (channel: string) => target[property](channel).catch(subscribeFailed);
        }
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    }),
  });
  return {
    pubsub: createPubSub<Record<string, [TurnEvent]>>({ eventTarget: eventTarget as never }),
    connected: () => publisher.status === "ready" && subscriber.status === "ready",
    async close() {
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}
