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

/** Refusals the HTTP layer raises without a code of their own. */
function codedRefusal(error: GraphQLError): GraphQLError | null {
  if (error.extensions.code !== undefined || !error.message.startsWith("Required CSRF header")) return null;
  return new GraphQLError("A GraphQL request from a browser must be preflighted: send Content-Type: application/json, or the header x-graphql-yoga-csrf (any value).", {
    extensions: { ...error.extensions, code: "CSRF_HEADER_REQUIRED" },
  });
}

export const maskUnexpectedError: MaskError = (error, message, isDev) => {
  const refusal = error instanceof GraphQLError ? codedRefusal(error) : null;
  if (refusal) return refusal;
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
