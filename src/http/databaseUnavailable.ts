// A request that meets a lost or unreachable database gets a typed error a
// client can act on (retry shortly) instead of the masked "Unexpected error":
// the database comes back on its own and the server serves again without a
// restart. Nothing of the underlying error (which may name hosts) is shown.
import { GraphQLError } from "graphql";
import { maskError, type YogaServerOptions } from "graphql-yoga";
import { isTransientDatabaseError } from "../db/transientErrors.ts";

export const DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE";

type MaskError = NonNullable<Exclude<YogaServerOptions<object, object>["maskedErrors"], boolean | undefined>["maskError"]>;

export const maskDatabaseUnavailable: MaskError = (error, message, isDev) => {
  const original = error instanceof GraphQLError ? error.originalError : error;
  if (original && isTransientDatabaseError(original)) {
    const located = error instanceof GraphQLError ? error : null;
    return new GraphQLError("The database is unavailable at the moment; try again shortly.", {
      nodes: located?.nodes,
      path: located?.path,
      extensions: { code: DATABASE_UNAVAILABLE },
    });
  }
  return maskError(error, message, isDev);
};
