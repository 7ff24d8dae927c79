// The error a client gets for a field it may not use: UNAUTHENTICATED without
// a token, FORBIDDEN for a signed-in user the rollout or role does not admit.
import { GraphQLError } from "graphql";
import type { Context } from "../context.ts";

export function refusalFor(context: Pick<Context, "viewer">): GraphQLError {
  if (context.viewer === null) return new GraphQLError("Sign in to use this field.", { extensions: { code: "UNAUTHENTICATED" } });
  return new GraphQLError(
    context.viewer.admitted ? "You are not allowed to use this field." : "This account is not admitted at the current rollout stage.",
    { extensions: { code: "FORBIDDEN" } },
  );
}
