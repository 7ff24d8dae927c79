import type { AppServices } from "../context.ts";

export function systemStatus(services: AppServices) {
  const gates = services.readiness.gates();
  return {
    ready: gates.every((gate) => gate.ok),
    appEnv: services.config.appEnv,
    rolloutStage: services.config.rolloutStage,
    gates,
  };
}
