// The API's node:http server. Server-sent event streams (turnEvents) write
// one chunk per event, and the fetch-to-Node bridge lets Node flush each
// chunk in its own socket write. A turn emits its events in bursts (a step's
// deltas, a step's end and the next step's start), so the socket is corked at
// a stream's first write in an event-loop turn and uncorked once that turn's
// callbacks have run: one system call per burst instead of one per event, at
// no added latency beyond the current turn of the loop.
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from "node:http";

function wantsEventStream(request: IncomingMessage): boolean {
  return request.headers.accept?.includes("text/event-stream") ?? false;
}

function coalesceWrites(response: ServerResponse): void {
  const write = response.write;
  let corked = false;
  response.write = function coalescedWrite(this: ServerResponse, ...args: Parameters<ServerResponse["write"]>) {
    if (!corked) {
      corked = true;
      response.cork();
      setImmediate(() => {
        corked = false;
        response.uncork();
      });
    }
    return write.apply(this, args);
  } as ServerResponse["write"];
}

/** The API's HTTP server (npm start and the tests' servers alike). */
export function createApiServer(listener: RequestListener): Server {
  return createServer((request, response) => {
    if (wantsEventStream(request)) coalesceWrites(response);
    listener(request, response);
  });
}
