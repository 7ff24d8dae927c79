// A subscription's server-sent event stream written on Node's response
// (http/directJson.ts decides which requests come here). Yoga would wrap each
// event in Fetch API objects: a ReadableStream the SSE processor enqueues
// into, a Response, and whatwg-node's pump from that stream to Node's
// response, several promise hops per chunk. A followed turn sends about ten
// events, so that machinery was most of what a follower cost beyond its
// events' execution (docs/development.md, performance notes).
//
// The bytes are still Yoga's: its own SSE processor runs here (the first ping,
// the pings every 12 s, `event: next` and `event: complete`, the status
// respecting errors), given a stream that hands its chunks straight to Node's
// response instead of queueing them. Its pull runs when the socket takes
// more; a client that goes away cancels it, which returns the subscription's
// iterator, as whatwg-node cancels the stream.
import type { IncomingMessage, ServerResponse } from "node:http";
import { getSSEProcessor } from "graphql-yoga";

type SseProcessor = ReturnType<typeof getSSEProcessor>;
type ProcessedResult = Parameters<SseProcessor>[0];

/** What the SSE processor gives its stream: enqueue, close, error and the room left in the socket's buffer. */
class ResponseController {
  state: "open" | "closed" | "errored" = "open";

  constructor(private readonly response: ServerResponse) {}

  /** As a ReadableStream's controller: null once errored (the processor stops pinging), 0 while the socket is full. */
  get desiredSize(): number | null {
    if (this.state === "errored") return null;
    return this.state === "closed" || this.response.writableNeedDrain ? 0 : 1;
  }

  enqueue(chunk: string): void {
    if (this.state === "open") this.response.write(chunk);
  }

  /** Closed without ending the response (the client is gone); whether it was open. */
  abandon(): boolean {
    if (this.state !== "open") return false;
    this.state = "closed";
    return true;
  }

  close(): void {
    if (this.state !== "open") return;
    this.state = "closed";
    this.response.end();
  }

  error(error: unknown): void {
    if (this.state !== "open") return;
    this.state = "errored";
    this.response.destroy(error instanceof Error ? error : undefined);
  }
}

interface UnderlyingSource {
  start(controller: ResponseController): void;
  pull(controller: ResponseController): unknown;
  cancel(reason?: unknown): unknown;
}

/** The processor's `new ReadableStream(source)`: kept as given, driven by `streamEvents` below. */
class SourceOnly {
  constructor(readonly source: UnderlyingSource) {}
}

/** The processor's `new Response(stream, init)`. */
class CapturedStreamResponse {
  constructor(
    readonly body: SourceOnly,
    readonly init: { status: number; headers: Record<string, string> },
  ) {}
}

/** Text goes to Node's response as text: it writes UTF-8, the bytes TextEncoder would have made. */
class TextAsIs {
  encode(text: string): string {
    return text;
  }
}

const FETCH_API = { ReadableStream: SourceOnly, Response: CapturedStreamResponse, TextEncoder: TextAsIs } as unknown as Parameters<SseProcessor>[1];
const processSSEResult = getSSEProcessor();

/** Until the socket has room again, or the client is gone. */
function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off("drain", done);
      response.off("close", done);
      resolve();
    };
    response.on("drain", done);
    response.on("close", done);
  });
}

/**
 * Streams a subscription's result (its events, or the one result that ended it
 * before it began) as Yoga's SSE processor writes it. `headers` are added to the
 * processor's (CORS). Never throws: a stream that fails is cut, as whatwg-node cuts it.
 */
export function streamEvents(request: IncomingMessage, response: ServerResponse, result: ProcessedResult, headers: Record<string, string>): void {
  const processed = processSSEResult(result, FETCH_API, "text/event-stream") as unknown as CapturedStreamResponse;
  const { source } = processed.body;
  const controller = new ResponseController(response);
  // Cancelling returns the subscription's iterator (the processor's cancel); it needs the processor started.
  const cancel = () =>
    void Promise.resolve()
      .then(() => source.cancel())
      .catch(() => undefined);
  // Gone while the subscription was being set up: its close event has passed, so let go of it now.
  if (response.destroyed) {
    controller.abandon();
    source.start(controller);
    cancel();
    return;
  }
  const all: Record<string, string> = {};
  for (const [name, value] of Object.entries(processed.init.headers)) all[name.toLowerCase()] = value;
  Object.assign(all, headers);
  // As whatwg-node configures a streamed response's socket: no idle timeout, each write sent at once.
  request.socket.setTimeout(0);
  request.socket.setNoDelay(true);
  request.socket.setKeepAlive(true);
  response.writeHead(processed.init.status, all);
  response.once("close", () => {
    if (controller.abandon()) cancel();
  });
  const pump = async () => {
    source.start(controller);
    while (controller.state === "open") {
      if (response.writableNeedDrain) await drained(response);
      if (controller.state !== "open") break;
      await source.pull(controller);
    }
  };
  pump().catch((error: unknown) => controller.error(error));
}
