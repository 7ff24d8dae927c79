// How unexpected errors reach a client. A request that meets a lost or
// unreachable database gets a typed error it can act on (retry shortly):
// the database comes back on its own and the server serves again without a
// restart. Anything else is masked as Yoga masks it. Either way, when the
// response goes out, the masked error gets the request id, and its original
// is logged once under that id, so a user's report finds the line. Nothing
// of the underlying error (which may name hosts) is shown to the client.
// Expected errors (our typed codes) pass unchanged.
import { GraphQLError } from "graphql";
import { maskError, type Plugin, type YogaServerOptions } from "graphql-yoga";
import { isTransientDatabaseError } from "../db/transientErrors.ts";
import { errorFields, logger } from "../observability/logger.ts";
import { recordOf } from "../observability/requestContext.ts";

export const DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE";
/** What a masked error says (Yoga's default, given to Yoga in yoga.ts and used by directJson.ts). */
export const UNEXPECTED_ERROR_MESSAGE = "Unexpected error.";

type MaskError = NonNullable<Exclude<YogaServerOptions<object, object>["maskedErrors"], boolean | undefined>["maskError"]>;

/** Masked error → the error it hides, until the response logs it. */
const originals = new WeakMap<GraphQLError, unknown>();
const maskedOriginals = new WeakSet<object>();

/** Whether Yoga's own log line for this error can be skipped (it is logged with its request id instead). */
export function isMaskedOriginal(value: unknown): boolean {
  return typeof value === "object" && value !== null && maskedOriginals.has(value);
}

/**
 * Refusals the HTTP layer raises without a code of their own get one, in
 * place: the same error object is returned, so Yoga treats it as expected
 * (no masking, no error-level log line for a client's mistake).
 */
function codeRefusal(error: GraphQLError): boolean {
  if (error.extensions.code !== undefined || !error.message.startsWith("Required CSRF header")) return false;
  (error.extensions as Record<string, unknown>).code = "CSRF_HEADER_REQUIRED";
  error.message = "A GraphQL request from a browser must be preflighted: send Content-Type: application/json, or the header x-graphql-yoga-csrf (any value).";
  return true;
}

function remembered(masked: GraphQLError, error: unknown): GraphQLError {
  originals.set(masked, error);
  if (typeof error === "object" && error !== null) maskedOriginals.add(error);
  return masked;
}

export const maskUnexpectedError: MaskError = (error, message, isDev) => {
  if (error instanceof GraphQLError && codeRefusal(error)) return error;
  const original = error instanceof GraphQLError ? error.originalError : error;
  const located = error instanceof GraphQLError ? error : null;
  if (original && isTransientDatabaseError(original)) {
    const unavailable = new GraphQLError("The database is unavailable at the moment; try again shortly.", {
      nodes: located?.nodes,
      path: located?.path,
      extensions: { code: DATABASE_UNAVAILABLE },
    });
    return remembered(unavailable, error);
  }
  const masked = maskError(error, message, isDev);
  if (masked === error || !(masked instanceof GraphQLError)) return masked;
  return remembered(masked, original ?? error);
};

function errorsOf(result: unknown): readonly GraphQLError[] {
  return (result as { errors?: readonly GraphQLError[] } | null)?.errors ?? [];
}

function resultErrors(result: unknown): readonly GraphQLError[] {
  return Array.isArray(result) ? result.flatMap(errorsOf) : errorsOf(result);
}

/** When a response goes out: its masked errors get the request id, and each original is logged under it. */
export function noteMaskedErrors(request: object, result: unknown): void {
  for (const error of resultErrors(result)) {
    if (!originals.has(error)) continue;
    const requestId = recordOf(request)?.requestId;
    if (requestId) (error.extensions as Record<string, unknown>).requestId = requestId;
    const code = error.extensions.code;
    const level = code === DATABASE_UNAVAILABLE ? "warn" : "error";
    logger[level]({ requestId, path: error.path?.join("."), code, ...errorFields(originals.get(error)) }, code === DATABASE_UNAVAILABLE ? "database unavailable" : "unexpected error");
    originals.delete(error);
  }
}

export function requestIdOnMaskedErrors(): Plugin {
  return { onResultProcess: ({ request, result }) => noteMaskedErrors(request, result) };
}
