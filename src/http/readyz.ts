// GET /readyz for Railway's healthcheck: 200 only when every gate required at
// the configured stage passes. A probe while not ready re-checks first, so a
// deploy that just ran `prisma migrate deploy` turns ready on the next probe.
import { useReadinessCheck } from "graphql-yoga";
import type { AppServices } from "../context.ts";
import { systemStatus } from "../resolvers/status.ts";

const PROBE_RECHECK_TIMEOUT_MS = 2_000;

export function readyzPlugin(services: AppServices) {
  return useReadinessCheck({
    endpoint: "/readyz",
    check: async () => {
      if (!services.readiness.isReady()) {
        await Promise.race([services.readiness.recheck(), new Promise((resolve) => setTimeout(resolve, PROBE_RECHECK_TIMEOUT_MS).unref())]);
      }
      const status = systemStatus(services);
      // Reasons are for ops (npm run check) and admins (systemStatus), not the open internet.
      const gates = status.gates.map((gate) => ({ ...gate, reasons: services.config.isProduction ? [] : gate.reasons }));
      return Response.json({ ready: status.ready, rolloutStage: status.rolloutStage, gates }, { status: status.ready ? 200 : 503 });
    },
  });
}
