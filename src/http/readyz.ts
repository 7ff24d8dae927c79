// GET /readyz for Railway's healthcheck: 200 only when every gate required at
// the configured stage passes. A probe while not ready re-checks first, so a
// deploy that just ran `prisma migrate deploy` turns ready on the next probe.
//
// A plain path comparison rather than Yoga's useReadinessCheck, which tests a
// URLPattern against every request that is not the probe.
import type { Plugin } from "graphql-yoga";
import type { AppServices } from "../runtime.ts";
import { systemStatus } from "../resolvers/status.ts";

const READYZ_PATH = "/readyz";
const PROBE_RECHECK_TIMEOUT_MS = 2_000;

async function readyzResponse(services: AppServices): Promise<Response> {
  if (!services.readiness.isReady() && !services.readiness.isShuttingDown()) {
    await Promise.race([services.readiness.recheck(), new Promise((resolve) => setTimeout(resolve, PROBE_RECHECK_TIMEOUT_MS).unref())]);
  }
  const status = systemStatus(services);
  // Reasons are for ops (npm run check) and admins (systemStatus), not the open internet.
  const gates = status.gates.map((gate) => ({ ...gate, reasons: services.config.isProduction ? [] : gate.reasons }));
  return Response.json({ ready: status.ready, shuttingDown: services.readiness.isShuttingDown(), rolloutStage: status.rolloutStage, gates }, { status: status.ready ? 200 : 503 });
}

export function readyzPlugin(services: AppServices): Plugin {
  return {
    onRequest: ({ url, endResponse }) => {
      if (url.pathname !== READYZ_PATH) return;
      // A probe that fails to answer is a not-ready answer.
      return readyzResponse(services).then(endResponse, () => endResponse(new Response(null, { status: 503 })));
    },
  };
}
