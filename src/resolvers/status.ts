import type { AppServices } from "../runtime.ts";

export function systemStatus(services: AppServices) {
  return {
    ready: services.readiness.isReady(),
    appEnv: services.config.appEnv,
    rolloutStage: services.admission.effectiveStage(),
    gates: services.readiness.gates(),
  };
}
