// Owner-only global settings. The write and its audit row (before, after,
// who, when) commit together; readiness is re-checked afterwards so Gate B
// reflects the new manager model at once.
import type { Context } from "../context.ts";
import { Prisma } from "../generated/prisma/client.ts";
import { MANAGER_MODEL_SETTING } from "../settings/managerModel.ts";
import { sql } from "../db/sql.ts";
import { MODEL_REGISTRY, type ModelAliasName } from "../llm/models.ts";
import { viewerId } from "./viewer.ts";

export interface ManagerModelSetting {
  modelAlias: ModelAliasName;
  structuredOutput: boolean;
  routingGateOpen: boolean;
  routingGateReasons: string[];
}

export async function setOrchestratorManagerModel(input: { modelAlias: ModelAliasName }, context: Context): Promise<ManagerModelSetting> {
  const actorId = viewerId(context);
  const after = { alias: input.modelAlias };
  await context.services.prisma.$transaction(async (tx) => {
    // Lock the row (when present) so concurrent writers record true "before" values.
    const [current] = await tx.$queryRaw<{ value: Prisma.JsonValue }[]>(sql`SELECT value FROM app_settings WHERE key = ${MANAGER_MODEL_SETTING} FOR UPDATE`);
    await tx.appSetting.upsert({
      where: { key: MANAGER_MODEL_SETTING },
      create: { key: MANAGER_MODEL_SETTING, value: after, updatedBy: actorId },
      update: { value: after, updatedBy: actorId },
    });
    await tx.adminAuditLog.create({
      data: {
        actorId,
        actor: `user:${actorId}`,
        action: "setOrchestratorManagerModel",
        target: MANAGER_MODEL_SETTING,
        before: current ? (current.value as Prisma.InputJsonValue) : Prisma.DbNull,
        after,
      },
    });
  });
  await context.services.readiness.recheck();
  const routing = context.services.readiness.gate("routing");
  return {
    modelAlias: input.modelAlias,
    structuredOutput: MODEL_REGISTRY[input.modelAlias].structuredOutput,
    routingGateOpen: routing.ok,
    routingGateReasons: routing.reasons,
  };
}
