// Gate B at the point of use: orchestrator mode is refused while the routing
// gate is closed; the other modes never depend on it.
import type { Context } from "../context.ts";
import { NotReadyError } from "../errors.ts";
import type { RoomMode } from "../generated/prisma/enums.ts";

export function assertModeAvailable(mode: RoomMode, context: Context): void {
  if (mode !== "orchestrator") return;
  const routing = context.readiness.gate("routing");
  if (routing.ok) return;
  const reasons = context.viewer?.adminRole || !context.config.isProduction ? routing.reasons : [];
  throw new NotReadyError("routing", reasons, "Orchestrator mode is not available: the routing gate is closed.");
}
