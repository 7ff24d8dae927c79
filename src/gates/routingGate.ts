// Gate B: orchestrator mode needs a manager model that supports structured
// output, so routing is parsed from a schema-checked decision, never by
// splitting prose.
import type { Queryable } from "../db/sql.ts";
import { MODEL_REGISTRY } from "../llm/models.ts";
import { MANAGER_MODEL_SETTING, readManagerModel } from "../settings/managerModel.ts";

export async function checkRoutingGate(db: Queryable): Promise<string[]> {
  let alias;
  try {
    alias = await readManagerModel(db);
  } catch {
    return [`the ${MANAGER_MODEL_SETTING} setting is malformed`];
  }
  const model = MODEL_REGISTRY[alias];
  return model.structuredOutput
    ? []
    : [`manager model ${alias} (${model.providerModel}) does not support structured output; choose another with setOrchestratorManagerModel`];
}
