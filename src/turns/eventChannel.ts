// Where live turn events travel: graphql-yoga's pub/sub, in process when
// there is one instance (no REDIS_URL), over Redis (its Redis event target on
// ioredis) when there are several. Redis being away never fails a turn:
// publishing is fire-and-forget, and subscribers read the kept events from
// the database meanwhile (eventStream.ts). ioredis reconnects and
// re-subscribes by itself.
import { Redis } from "ioredis";
import { setMaxListeners } from "node:events";
import { createPubSub, type PubSub } from "graphql-yoga";
import { z } from "zod";
import { createRedisEventTarget } from "@graphql-yoga/redis-event-target";
import type { TurnEvent } from "./events.ts";
import { logger } from "../observability/logger.ts";

/** A request to the instance running a turn (SPEC 16): cancelTurn on any instance reaches it here. */
export const turnControl = z.object({ type: z.literal("cancel"), turnId: z.string().uuid() });
export type TurnControl = z.infer<typeof turnControl>;

export const TURN_CONTROL_TOPIC = "turn-control";

/** A turn's events on `turn:<id>`; control messages for every instance on TURN_CONTROL_TOPIC. */
export type TurnChannelTopics = { [topic: `turn:${string}`]: [TurnEvent] } & { [TURN_CONTROL_TOPIC]: [TurnControl] };

export type TurnEventPubSub = PubSub<TurnChannelTopics>;

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

/** The in-process channel's target: every client following a turn listens on its topic, any number of them (not a leak). */
function localEventTarget(): EventTarget {
  const target = new EventTarget();
  setMaxListeners(0, target);
  return target;
}

export function createEventChannel(redisUrl: string | undefined): EventChannel {
  if (!redisUrl) return { pubsub: createPubSub<TurnChannelTopics>({ eventTarget: localEventTarget() }), connected: () => true, close: async () => undefined };
  const publisher = redisClient(redisUrl);
  const subscriber = redisClient(redisUrl);
  const publishFailed = reportingOnce("publish");
  const subscribeFailed = reportingOnce("subscribe");
  // A subscribe sent while Redis is away fails (no offline queue) and ioredis
  // only re-subscribes what succeeded: such channels are subscribed again as
  // soon as the connection is back (the control channel is subscribed at start,
  // possibly before the first connection).
  const unsubscribed = new Set<string>();
  const subscribe = (channel: string) =>
    subscriber.subscribe(channel).then(
      () => void unsubscribed.delete(channel),
      (error: unknown) => {
        unsubscribed.add(channel);
        subscribeFailed(error);
      },
    );
  subscriber.on("ready", () => {
    for (const channel of unsubscribed) void subscribe(channel);
  });
  // The event target does not await Redis's answers: every promise it leaves is handled here.
  const eventTarget = createRedisEventTarget({
    publishClient: { publish: (channel: string, message: string) => publisher.publish(channel, message).catch(publishFailed) } as unknown as Redis,
    subscribeClient: new Proxy(subscriber, {
      get(target, property, receiver) {
        if (property === "subscribe") return subscribe;
        if (property === "unsubscribe") {
          return (channel: string) => {
            unsubscribed.delete(channel);
            return target.unsubscribe(channel).catch(subscribeFailed);
          };
        }
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    }),
  });
  return {
    pubsub: createPubSub<TurnChannelTopics>({ eventTarget: eventTarget as never }),
    connected: () => publisher.status === "ready" && subscriber.status === "ready",
    async close() {
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}
