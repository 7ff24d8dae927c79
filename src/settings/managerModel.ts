// The orchestrator's manager model: a global admin setting (app_settings),
// defaulting to deepseek (SPEC section 3).
import { z } from "zod";
import type { Queryable } from "../db/queryable.ts";
import { DEFAULT_MANAGER_MODEL, MODEL_ALIASES, type ModelAliasName } from "../llm/models.ts";

export const MANAGER_MODEL_SETTING = "orchestrator_manager_model";

const managerModelValue = z.object({ alias: z.enum(MODEL_ALIASES) });

export async function readManagerModel(db: Queryable): Promise<ModelAliasName> {
  const result = await db.query<{ value: unknown }>("SELECT value FROM app_settings WHERE key = $1", [MANAGER_MODEL_SETTING]);
  const row = result.rows[0];
  if (!row) return DEFAULT_MANAGER_MODEL;
  const parsed = managerModelValue.safeParse(row.value);
  // A value this build does not know is treated as unusable, not guessed at.
  if (!parsed.success) throw new Error(`app_settings.${MANAGER_MODEL_SETTING} is malformed`);
  return parsed.data.alias;
}
