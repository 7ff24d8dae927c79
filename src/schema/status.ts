import { builder } from "../builder.ts";
import type { GateState } from "../gates/readiness.ts";
import { ROLLOUT_STAGES } from "../config/env.ts";
import { systemStatus } from "../resolvers/status.ts";
import { visibleReasons } from "./readinessDirective.ts";

const RolloutStage = builder.enumType("RolloutStage", {
  values: Object.fromEntries(ROLLOUT_STAGES.map((stage) => [stage.toUpperCase(), { value: stage }])) as Record<
    Uppercase<(typeof ROLLOUT_STAGES)[number]>,
    { value: (typeof ROLLOUT_STAGES)[number] }
  >,
});

const GateStatus = builder.objectRef<GateState>("GateStatus").implement({
  fields: (t) => ({
    gate: t.exposeString("gate"),
    ok: t.exposeBoolean("ok"),
    required: t.exposeBoolean("required", { description: "Whether readiness requires this gate at the configured stage." }),
    reasons: t.stringList({
      description: "Why the gate is closed. Admins, and everyone outside production, see the reasons.",
      resolve: (state, _args, context) => visibleReasons(state.reasons, context),
    }),
    checkedAt: t.expose("checkedAt", { type: "DateTime", nullable: true }),
  }),
});

const SystemStatus = builder.objectRef<ReturnType<typeof systemStatus>>("SystemStatus").implement({
  fields: (t) => ({
    ready: t.exposeBoolean("ready", { description: "True when every gate required for the rollout stage passes." }),
    appEnv: t.exposeString("appEnv"),
    rolloutStage: t.field({ type: RolloutStage, nullable: true, description: "The stage in force (broad falls back to closed_beta while the key-rotation gate fails); null in local development.", resolve: (status) => status.rolloutStage }),
    gates: t.field({ type: [GateStatus], resolve: (status) => status.gates }),
  }),
});

builder.queryField("systemStatus", (t) =>
  t.field({
    type: SystemStatus,
    description: "Gate states: coarse for everyone, with reasons for admins. Never touches the database.",
    resolve: (_root, _args, context) => systemStatus(context.services),
  }),
);
