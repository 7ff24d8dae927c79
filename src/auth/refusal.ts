// The error a client gets for a field it may not use: UNAUTHENTICATED without
// a token, FORBIDDEN for a signed-in user the rollout or role does not admit.
import { GraphQLError } from "graphql";
import type { Viewer } from "./viewer.ts";

export function refusalFor(context: { viewer: Viewer | null }): GraphQLError {
  if (context.viewer === null) return new GraphQLError("Sign in to use this field.", { extensions: { code: "UNAUTHENTICATED" } });
  const message = context.viewer.suspended
    ? "This account is suspended."
    : context.viewer.admitted
      ? "You are not allowed to use this field."
      : "This account is not admitted at the current rollout stage.";
  return new GraphQLError(message, { extensions: { code: "FORBIDDEN" } });
}
