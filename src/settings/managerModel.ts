// The orchestrator's manager model: a global admin setting (app_settings),
// defaulting to deepseek (SPEC section 3).
import { z } from "zod";
import { queryOne, sql, type Queryable } from "../db/sql.ts";
import { DEFAULT_MANAGER_MODEL, MODEL_ALIASES, type ModelAliasName } from "../llm/models.ts";

export const MANAGER_MODEL_SETTING = "orchestrator_manager_model";

const managerModelValue = z.object({ alias: z.enum(MODEL_ALIASES) });

export async function readManagerModel(db: Queryable): Promise<ModelAliasName> {
  const row = await queryOne<{ value: unknown }>(db, sql`SELECT value FROM app_settings WHERE key = ${MANAGER_MODEL_SETTING}`);
  if (!row) return DEFAULT_MANAGER_MODEL;
  const parsed = managerModelValue.safeParse(row.value);
  // A value this build does not know is treated as unusable, not guessed at.
  if (!parsed.success) throw new Error(`app_settings.${MANAGER_MODEL_SETTING} is malformed`);
  return parsed.data.alias;
}
