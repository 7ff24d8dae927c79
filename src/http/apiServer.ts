// The API's node:http server. Each request gets an id (the client's
// x-request-id when well-formed, else a new one), echoed in the response,
// kept with the request (observability/requestContext.ts) and written
// on the request's one log line when it finishes, with its status, duration,
// GraphQL operation and viewer.
//
// Server-sent event streams (turnEvents) write one chunk per event, and the
// fetch-to-Node bridge lets Node flush each chunk in its own socket write. A
// turn emits its events in bursts (a step's deltas, a step's end and the next
// step's start), so the socket is corked at a stream's first write in an
// event-loop turn and uncorked once that turn's callbacks have run: one
// system call per burst instead of one per event, at no added latency beyond
// the current turn of the loop.
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from "node:http";
import { logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import { rememberRequest, requestIdFrom, type RequestRecord } from "../observability/requestContext.ts";

const REQUEST_ID_HEADER = "x-request-id";
const KNOWN_ROUTES = new Set(["/graphql", "/readyz", "/healthz", "/metrics"]);

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

/** The path without its query string, or "other": labels stay few, whatever clients ask for. */
function routeOf(url: string | undefined): string {
  if (url === undefined) return "other";
  const query = url.indexOf("?");
  const path = query === -1 ? url : url.slice(0, query);
  return KNOWN_ROUTES.has(path) ? path : "other";
}

function logFinished(request: IncomingMessage, response: ServerResponse, record: RequestRecord, started: bigint, metrics: Metrics | undefined): void {
  const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
  const route = routeOf(request.url);
  metrics?.httpRequests.observe({ method: request.method ?? "GET", route, status: String(response.statusCode) }, durationMs / 1000);
  // Probes and scrapes come every few seconds: logged only when they fail.
  if ((route === "/readyz" || route === "/healthz" || route === "/metrics") && response.statusCode < 400) return;
  const level = response.statusCode >= 500 ? "error" : "info";
  logger[level](
    {
      requestId: record.requestId,
      method: request.method,
      route,
      status: response.statusCode,
      durationMs: Math.round(durationMs * 10) / 10,
      ...(record.operationName || record.operationType ? { operation: record.operationName ?? "anonymous", operationType: record.operationType } : {}),
      ...(record.userId ? { userId: record.userId } : {}),
      ...(response.writableFinished ? {} : { aborted: true }),
    },
    "request",
  );
}

/**
 * GET /healthz, liveness: the process answers (whether it serves traffic is
 * /readyz's answer). Answered here, without Yoga, so that it stays cheap and
 * says what it means: Yoga's own health check has an empty body.
 */
function answerLiveness(response: ServerResponse): void {
  const body = JSON.stringify({ alive: true, uptimeSeconds: Math.round(process.uptime()) });
  response.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body), "cache-control": "no-store" });
  response.end(body);
}

/** The API's HTTP server (npm start and the tests' servers alike). */
export function createApiServer(listener: RequestListener, metrics?: Metrics): Server {
  return createServer((request, response) => {
    const started = process.hrtime.bigint();
    const record: RequestRecord = { requestId: requestIdFrom(request.headers[REQUEST_ID_HEADER]) };
    response.setHeader(REQUEST_ID_HEADER, record.requestId);
    if (wantsEventStream(request)) {
      coalesceWrites(response);
      metrics?.eventStreams.inc();
      response.once("close", () => metrics?.eventStreams.dec());
    }
    response.once("close", () => logFinished(request, response, record, started, metrics));
    if (routeOf(request.url) === "/healthz" && (request.method === "GET" || request.method === "HEAD")) return answerLiveness(response);
    rememberRequest(request, record);
    listener(request, response);
  });
}
