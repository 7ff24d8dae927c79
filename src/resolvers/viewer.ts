import type { Context } from "../context.ts";
import { ForbiddenError } from "../errors.ts";

/** The signed-in user's id; fields calling this carry authScopes, so a missing viewer is a wiring bug. */
export function viewerId(context: Context): string {
  if (!context.viewer) throw new ForbiddenError("Sign in first.");
  return context.viewer.id;
}
