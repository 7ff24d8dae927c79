// A plain JSON POST to /graphql (a query or mutation, as every client sends
// them, browsers included) is answered here, on Node's request and response,
// instead of through Yoga's Fetch API server. Measured on the rooms page (see
// docs/development.md, benchmarks): Yoga's request pipeline and its Fetch API
// objects cost about 0.16 ms of CPU per request, as much as execution, SQL
// and JSON together; answered here, the same operation costs what Yoga's
// envelop costs.
//
// What answers is Yoga's own: the envelop it built (parse and validation
// caches, armor's limits, masked errors, compiled execution, every plugin's
// execution hooks), the same order of steps as Yoga's processRequest, its
// regular result processor (status, content type, body) and whatwg-node's
// CORS headers. The Yoga-level hooks our plugins have for such a request run
// here too: the request id on masked errors and, when tracing is on, the
// operation's span. A plugin given Yoga-level hooks (onRequestParse, onParams,
// onExecutionResult, onResultProcess, onResponse) must be honoured here as
// well: test/directJson.test.ts answers a set of requests on both paths.
//
// A subscription in such a POST whose Accept header is exactly
// `text/event-stream` (what our clients and the benches send to follow a
// turn) runs the same way and is streamed by http/directEventStream.ts.
//
// Everything else goes to Yoga, which answers it as before: other methods,
// paths and media types, a missing or too large Content-Length, batches,
// a body that is not plain parameters, a subscription asking for anything
// but an event stream, and a query or mutation asking for a stream. When
// that is decided after the body was read, Yoga gets the body as read
// (whatwg-node takes a Node request's `body` for its stream).
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { getOperationAST, GraphQLError, type DocumentNode, type ExecutionResult } from "graphql";
import { isAsyncIterable, mapAsyncIterator, processRegularResult, type YogaLogger, type YogaServerInstance } from "graphql-yoga";
import { getCORSHeadersByRequestAndOptions } from "@whatwg-node/server";
import type { RequestHead } from "../auth/requestHead.ts";
import type { Context } from "../context.ts";
import type { CorsSetting } from "./cors.ts";
import { streamEvents } from "./directEventStream.ts";
import { maskUnexpectedError, noteMaskedErrors, UNEXPECTED_ERROR_MESSAGE } from "./maskedErrors.ts";
import type { OperationTracing } from "./tracingPlugin.ts";

export const GRAPHQL_PATH = "/graphql";
const JSON_CONTENT_TYPES = new Set(["application/json", "application/json;charset=utf-8"]);
/** The regular result processor's media types, in the order Yoga tries them. */
const REGULAR_MEDIA_TYPES = ["application/graphql-response+json", "application/json"] as const;
const PARAM_NAMES = new Set(["query", "variables", "operationName", "extensions"]);
const ACCEPT_CACHE_MAX = 64;
/** The one Accept header whose subscriptions are streamed here; Yoga picks among its processors for any other. */
const EVENT_STREAM = "text/event-stream";

/** Whether a request's URL is the GraphQL endpoint's, whatever its query string. */
export function isGraphQLPath(url: string | undefined): boolean {
  return url?.split("?", 1)[0] === GRAPHQL_PATH;
}

/** Node's request headers read as a Fetch API Headers' `get` reads them. */
class NodeHeaders {
  constructor(private readonly headers: IncomingHttpHeaders) {}
  get(name: string): string | null {
    const value = this.headers[name.toLowerCase()];
    return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
  }
}

/** Node's request as the context and the CORS headers read it, without a Fetch API Request. */
class NodeRequestHead implements RequestHead {
  readonly headers: NodeHeaders;
  constructor(headers: IncomingHttpHeaders) {
    this.headers = new NodeHeaders(headers);
  }
}

interface GraphQLParams {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
  extensions?: Record<string, unknown> | null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The body's parameters when they are what Yoga's parameter checks accept without a word; null for anything else. */
function plainParams(body: string): GraphQLParams | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return null;
  }
  if (!isPlainObject(parsed) || typeof parsed.query !== "string") return null;
  for (const key in parsed) if (!PARAM_NAMES.has(key)) return null;
  const { variables, operationName, extensions } = parsed;
  if (variables != null && !isPlainObject(variables)) return null;
  if (operationName != null && typeof operationName !== "string") return null;
  if (extensions != null && !isPlainObject(extensions)) return null;
  return parsed as unknown as GraphQLParams;
}

/**
 * The media type Yoga's result processors answer a query or mutation with for
 * this Accept header, or null when it would be another processor's (a stream)
 * or none (406). Yoga lets the last matching processor win and tries the
 * regular one last, so any match among its media types decides; the
 * requested types are tried last to first, each against the processor's in
 * order, and only utf-8 is served.
 */
function regularMediaType(accept: string | undefined): string | null {
  const requested = (accept || "*/*").replace(/\s/g, "").toLowerCase().split(",").reverse();
  let chosen: string | null = null;
  for (const entry of requested) {
    const [mediaType = "", ...params] = entry.split(";");
    const charset = params.find((param) => param.includes("charset=")) ?? "charset=utf-8";
    if (charset !== "charset=utf-8") continue;
    const [type, subtype] = mediaType.split("/");
    for (const candidate of REGULAR_MEDIA_TYPES) {
      const [candidateType, candidateSubtype] = candidate.split("/");
      if ((type === "*" || type === candidateType) && (subtype === "*" || subtype === candidateSubtype)) chosen = candidate;
    }
  }
  return chosen;
}

/** The app yoga.ts builds. */
type App = YogaServerInstance<Record<string, unknown>, Context>;

/** One operation of a request, as operate runs it. */
interface Operation {
  enveloped: ReturnType<App["getEnveloped"]>;
  /** Undefined when the query did not parse: parseError says why. */
  document: DocumentNode | undefined;
  parseError: unknown;
  params: GraphQLParams;
  subscription: boolean;
  /** How an error thrown while the operation runs is answered. */
  thrown(error: unknown): ExecutionResult;
  tracing: OperationTracing | null;
}

/**
 * Yoga's processRequest, step by step, with its onExecutionResult hook
 * (tracing's). At module level, not a closure per request: under tsx each
 * named closure costs a call that sets its name.
 */
async function operate({ enveloped, document, parseError, params, subscription, thrown, tracing }: Operation): Promise<ExecutionResult | AsyncIterable<ExecutionResult>> {
  let result: ExecutionResult | AsyncIterable<ExecutionResult>;
  try {
    if (!document) throw parseError;
    const errors = enveloped.validate(enveloped.schema, document);
    if (errors.length > 0) {
      result = { errors };
    } else {
      const contextValue = await enveloped.contextFactory();
      const args = { schema: enveloped.schema, document, contextValue, variableValues: params.variables, operationName: params.operationName };
      result = (await (subscription ? enveloped.subscribe(args) : enveloped.execute(args))) as ExecutionResult | AsyncIterable<ExecutionResult>;
    }
  } catch (error) {
    result = thrown(error);
  }
  // As Yoga's handleParams: an error thrown by the stream ends it with that error, masked; an abort ends it.
  if (isAsyncIterable(result)) {
    result = mapAsyncIterator(
      result,
      (value) => value,
      (error: unknown) => {
        if ((error as { name?: unknown } | null)?.name === "AbortError") throw error;
        return thrown(error);
      },
    );
  }
  tracing?.markErrors(result);
  return result;
}

/** What processRegularResult hands its Response constructor: the body and the status and headers. */
class CapturedResponse {
  constructor(
    readonly body: string | null,
    readonly init: { status: number; headers: Record<string, string> },
  ) {}
}
const CAPTURE = { Response: CapturedResponse } as unknown as Parameters<typeof processRegularResult>[1];

export interface DirectJsonOptions {
  cors: CorsSetting;
  maxBodyBytes: number;
  logger: YogaLogger;
  tracing: OperationTracing | null;
  /** Counts each /graphql request by the path that answered it. */
  count(path: "direct" | "yoga"): void;
}

/** Node's listener for the API: plain JSON POSTs to /graphql answered directly, everything else by Yoga. */
export function directJsonListener(app: App, options: DirectJsonOptions): (request: IncomingMessage, response: ServerResponse) => void {
  const mediaTypes = new Map<string, string | null>();

  function mediaTypeFor(accept: string | undefined): string | null {
    const key = accept ?? "";
    let mediaType = mediaTypes.get(key);
    if (mediaType === undefined) {
      if (mediaTypes.size >= ACCEPT_CACHE_MAX) mediaTypes.clear();
      mediaTypes.set(key, (mediaType = regularMediaType(accept)));
    }
    return mediaType;
  }

  function toYoga(request: IncomingMessage, response: ServerResponse, body?: Buffer): void {
    if (isGraphQLPath(request.url)) options.count("yoga");
    // whatwg-node reads a consumed request's body from here (normalizeNodeRequest).
    if (body) (request as IncomingMessage & { body?: Buffer }).body = body;
    void app(request, response);
  }

  /** As Yoga's handleError answers an error thrown while an operation runs (with yoga.ts's maskedErrors options: no isDev). */
  function thrown(error: unknown): ExecutionResult {
    const masked = maskUnexpectedError(error, UNEXPECTED_ERROR_MESSAGE, false);
    if (masked !== error) options.logger.error(error);
    return { errors: [masked instanceof GraphQLError ? masked : new GraphQLError(masked.message, { originalError: masked })] };
  }

  async function answer(request: IncomingMessage, response: ServerResponse, body: Buffer, mediaType: string): Promise<void> {
    const params = plainParams(body.toString("utf8"));
    if (!params) return toYoga(request, response, body);
    const head = new NodeRequestHead(request.headers);
    const enveloped = app.getEnveloped({ req: request, res: response, request: head as unknown as Request, params } as never);
    // Parsed once (Yoga's parse cache): a subscription is Yoga's, with its stream and media types.
    let document: DocumentNode | undefined;
    let parseError: unknown;
    try {
      document = enveloped.parse(params.query);
    } catch (error) {
      parseError = error;
    }
    const subscription = document !== undefined && getOperationAST(document, params.operationName)?.operation === "subscription";
    // A subscription streams, anything else answers once: each only for the Accept header it was chosen by.
    if (subscription !== (mediaType === EVENT_STREAM)) return toYoga(request, response, body);
    const operation: Operation = { enveloped, document, parseError, params, subscription, thrown, tracing: options.tracing };
    const result = options.tracing ? await options.tracing.run(request, () => operate(operation)) : await operate(operation);
    options.count("direct");
    noteMaskedErrors(head, result);
    const cors = typeof options.cors === "function" ? options.cors(head) : options.cors;
    // Reads only the request's headers.
    const corsHeaders: Record<string, string> = {};
    for (const [name, value] of Object.entries(getCORSHeadersByRequestAndOptions(head as unknown as Request, cors) ?? {})) corsHeaders[name.toLowerCase()] = value;
    if (subscription) return streamEvents(request, response, result, corsHeaders);
    if (isAsyncIterable(result)) throw new Error("a query or mutation answered with a stream");
    const processed = processRegularResult(result, CAPTURE, mediaType) as unknown as CapturedResponse;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(processed.init.headers)) headers[name.toLowerCase()] = value;
    Object.assign(headers, corsHeaders);
    const text = processed.body ?? "";
    headers["content-length"] = String(Buffer.byteLength(text));
    response.writeHead(processed.init.status, headers);
    response.end(text);
  }

  return (request, response) => {
    const { headers } = request;
    const contentType = headers["content-type"]?.replace(/\s/g, "").toLowerCase();
    const length = headers["content-length"];
    const mediaType = request.method === "POST" && request.url === GRAPHQL_PATH ? (headers.accept === EVENT_STREAM ? EVENT_STREAM : mediaTypeFor(headers.accept)) : null;
    if (
      mediaType === null ||
      contentType === undefined ||
      !JSON_CONTENT_TYPES.has(contentType) ||
      length === undefined ||
      !/^\d+$/.test(length) ||
      // An empty body is Yoga's to refuse, and whatwg-node would not take it as read.
      Number(length) === 0 ||
      Number(length) > options.maxBodyBytes
    ) {
      return toYoga(request, response);
    }
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.once("end", () => {
      answer(request, response, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), mediaType).catch((error: unknown) => {
        options.logger.error(error);
        if (!response.headersSent) response.writeHead(500);
        response.end();
      });
    });
  };
}
