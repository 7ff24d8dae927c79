// Owner-only: the orchestrator's global manager model (SPEC section 3).
import { builder } from "../builder.ts";
import { setOrchestratorManagerModel, type ManagerModelSetting } from "../resolvers/adminSettings.ts";
import { ModelAlias } from "./domainEnums.ts";
import { mutationResult } from "./mutationResult.ts";
import { requiresReady } from "./readinessDirective.ts";

const SetOrchestratorManagerModelInput = builder.inputType("SetOrchestratorManagerModelInput", {
  fields: (t) => ({ modelAlias: t.field({ type: ModelAlias, required: true }) }),
});

const OrchestratorManagerModelRef = builder.objectRef<ManagerModelSetting>("OrchestratorManagerModel").implement({
  fields: (t) => ({
    modelAlias: t.field({ type: ModelAlias, resolve: (setting) => setting.modelAlias }),
    structuredOutput: t.exposeBoolean("structuredOutput", { description: "Whether the model supports structured output (Gate B needs it)." }),
    routingGateOpen: t.exposeBoolean("routingGateOpen", { description: "Gate B after the change: orchestrator mode is available." }),
    routingGateReasons: t.exposeStringList("routingGateReasons"),
  }),
});

builder.mutationField("setOrchestratorManagerModel", (t) =>
  t.field({
    type: OrchestratorManagerModelRef,
    description: "Owner only. Sets the global manager model; audit-logged with before and after.",
    authScopes: { owner: true },
    directives: requiresReady,
    errors: mutationResult("SetOrchestratorManagerModel", "setting"),
    args: { input: t.arg({ type: SetOrchestratorManagerModelInput, required: true }) },
    resolve: (_root, { input }, context) => setOrchestratorManagerModel(input, context),
  }),
);
