// The fan-out benchmark's subscribers: a thousand turnEvents SSE streams from
// one process that shares two cores with the servers. Each stream is a bare
// node:http request (fetch costs several times more CPU per chunk), and no
// event is parsed while the turn streams: every arrival is kept with its
// receive time and read after the run, so the receive times measure the
// servers rather than this process.
import { Agent, request, type ClientRequest } from "node:http";
import { print } from "graphql";
import { TurnEventsDocument } from "../test/generated/graphql.ts";

const TURN_EVENTS = print(TurnEventsDocument);
/** Connections opened at a time: a burst of a thousand SYNs would overflow the servers' accept backlog. */
const OPEN_BATCH = 100;

/** Wall-clock milliseconds with fractions: comparable across processes on this machine. */
export const wallClockMs = () => performance.timeOrigin + performance.now();

export interface Subscriber {
  /** Raw SSE text in arrival order, each piece with its wall-clock receive time. */
  arrivals: { at: number; text: string }[];
  /** Resolves once the stream's first event (the turn's kept events) has arrived. */
  subscribed: Promise<void>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  request: ClientRequest;
}

function subscribe(agent: Agent, graphqlUrl: string, token: string, turnId: string): Subscriber {
  const arrivals: Subscriber["arrivals"] = [];
  let subscribed!: () => void;
  let failed!: (error: Error) => void;
  const firstEvent = new Promise<void>((resolve, reject) => ((subscribed = resolve), (failed = reject)));
  const body = JSON.stringify({ query: TURN_EVENTS, variables: { turnId, afterSequence: 0 } });
  let outgoing!: ClientRequest;
  const ended = new Promise<void>((resolve, reject) => {
    outgoing = request(
      graphqlUrl,
      { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), accept: "text/event-stream", authorization: `Bearer ${token}` } },
      (response) => {
        if (response.statusCode !== 200) reject(new Error(`turnEvents answered HTTP ${response.statusCode}`));
        response.setEncoding("utf8");
        let waiting = true;
        response.on("data", (text: string) => {
          arrivals.push({ at: wallClockMs(), text });
          if (waiting && text.includes("event: next")) {
            waiting = false;
            subscribed();
          }
        });
        response.on("end", resolve);
        response.on("error", reject);
      },
    );
    outgoing.on("error", reject);
    outgoing.end(body);
  });
  ended.catch(failed);
  // Awaited only while opening; a stream cut later must not surface as an unhandled rejection.
  firstEvent.catch(() => undefined);
  return { arrivals, subscribed: firstEvent, ended, request: outgoing };
}

export interface Fanout {
  subscribers: Subscriber[];
  /** Resolves when every stream has ended; rejects after `timeoutMs`. */
  ended(timeoutMs: number): Promise<void>;
  /** Cuts every stream still open. */
  close(): void;
}

/** `count` subscribers to the turn, spread round-robin over `graphqlUrls`; resolves once every one has its first event. */
export async function openFanout(graphqlUrls: string[], count: number, token: string, turnId: string): Promise<Fanout> {
  const agent = new Agent({ keepAlive: false, maxSockets: count });
  const subscribers: Subscriber[] = [];
  const fanout: Fanout = {
    subscribers,
    async ended(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`streams still open after ${timeoutMs} ms`)), timeoutMs)));
      try {
        await Promise.race([Promise.all(subscribers.map((subscriber) => subscriber.ended)), late]);
      } finally {
        clearTimeout(timer);
      }
    },
    close() {
      for (const subscriber of subscribers) subscriber.request.destroy();
      agent.destroy();
    },
  };
  try {
    for (let opened = 0; opened < count; opened += OPEN_BATCH) {
      const batch = Array.from({ length: Math.min(OPEN_BATCH, count - opened) }, (_, index) => subscribe(agent, graphqlUrls[(opened + index) % graphqlUrls.length]!, token, turnId));
      subscribers.push(...batch);
      await Promise.all(batch.map((subscriber) => subscriber.subscribed));
    }
  } catch (error) {
    fanout.close();
    throw error;
  }
  return fanout;
}

export interface Deliveries {
  /** Receive time minus the chunk's emission time, over every (subscriber, chunk) pair. */
  latenciesMs: number[];
  /** Events received after the first chunk left the provider, by all subscribers. */
  events: number;
  /** Wall-clock time of the last event received. */
  lastAt: number;
  /** Subscribers whose stream ended with TurnCompleted. */
  completed: number;
}

/** Reads the arrivals: every StepDelta's text is the emission times of the chunks it carries (the server may merge chunks into one delta). */
export function deliveries(subscribers: Subscriber[], firstChunkAt: number): Deliveries {
  const result: Deliveries = { latenciesMs: [], events: 0, lastAt: 0, completed: 0 };
  for (const { arrivals } of subscribers) {
    let buffer = "";
    for (const { at, text } of arrivals) {
      buffer += text;
      for (let boundary = buffer.indexOf("\n\n"); boundary !== -1; boundary = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        if (!block.startsWith("event: next") || at < firstChunkAt) continue;
        result.events += 1;
        result.lastAt = Math.max(result.lastAt, at);
        const event = (JSON.parse(block.slice(block.indexOf("data:") + 5)) as { data: { turnEvents: { __typename: string; delta?: string } } }).data.turnEvents;
        if (event.__typename === "TurnCompleted") result.completed += 1;
        for (const stamp of event.__typename === "StepDelta" ? event.delta!.trim().split(" ") : []) result.latenciesMs.push(at - Number(stamp));
      }
    }
  }
  return result;
}
