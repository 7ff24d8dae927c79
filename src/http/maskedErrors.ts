// How unexpected errors reach a client. A request that meets a lost or
// unreachable database gets a typed error it can act on (retry shortly):
// the database comes back on its own and the server serves again without a
// restart. Anything else is masked as Yoga masks it. Either way the client
// gets the request id; Yoga logs the original of every error it masks, and
// our logger adds the request id to that line (yogaLogger.ts), so a user's
// report finds it. Nothing of the underlying error (which may name hosts) is
// shown to the client. Expected errors (our typed codes) pass unchanged.
import { GraphQLError } from "graphql";
import { maskError, type YogaServerOptions } from "graphql-yoga";
import { isTransientDatabaseError } from "../db/transientErrors.ts";
import { currentRequest } from "../observability/requestContext.ts";

export const DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE";

type MaskError = NonNullable<Exclude<YogaServerOptions<object, object>["maskedErrors"], boolean | undefined>["maskError"]>;

function withRequestId(error: GraphQLError, requestId: string | undefined): GraphQLError {
  if (!requestId) return error;
  return new GraphQLError(error.message, { nodes: error.nodes, path: error.path, originalError: error.originalError ?? undefined, extensions: { ...error.extensions, requestId } });
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

export const maskUnexpectedError: MaskError = (error, message, isDev) => {
  if (error instanceof GraphQLError && codeRefusal(error)) return error;
  const requestId = currentRequest()?.requestId;
  const original = error instanceof GraphQLError ? error.originalError : error;
  const located = error instanceof GraphQLError ? error : null;
  if (original && isTransientDatabaseError(original)) {
    return new GraphQLError("The database is unavailable at the moment; try again shortly.", {
      nodes: located?.nodes,
      path: located?.path,
      extensions: { code: DATABASE_UNAVAILABLE, ...(requestId ? { requestId } : {}) },
    });
  }
  const masked = maskError(error, message, isDev);
  if (masked === error || !(masked instanceof GraphQLError)) return masked;
  return withRequestId(masked, requestId);
};
