// Gate B at the point of use: orchestrator mode is refused while the routing
// gate is closed; the other modes never depend on it. The reasons go with the
// error; the GraphQL layer decides who may read them.
import { NotReadyError } from "../errors.ts";
import type { RoomMode } from "../generated/prisma/enums.ts";
import type { Readiness } from "./readiness.ts";

export function assertModeAvailable(mode: RoomMode, readiness: Pick<Readiness, "gate">): void {
  if (mode !== "orchestrator") return;
  const routing = readiness.gate("routing");
  if (routing.ok) return;
  throw new NotReadyError("routing", routing.reasons, "Orchestrator mode is not available: the routing gate is closed.");
}
