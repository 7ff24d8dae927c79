// GraphQL enums (SCREAMING_CASE) over the database's lowercase enum values.
import { builder } from "../builder.ts";
import type { ModelAlias as ModelAliasValue, RoomMode as RoomModeValue, ToolPermission as ToolPermissionValue } from "../generated/prisma/enums.ts";

export const RoomMode = builder.enumType("RoomMode", {
  values: {
    MANUAL: { value: "manual" as RoomModeValue, description: "Only agents tagged @agentKey answer, in tag order." },
    ROUNDTABLE: { value: "roundtable" as RoomModeValue, description: "Every agent answers, in position order." },
    ORCHESTRATOR: { value: "orchestrator" as RoomModeValue, description: "A manager model routes and synthesizes (Gate B)." },
  },
});

export const ModelAlias = builder.enumType("ModelAlias", {
  values: {
    LLAMA: { value: "llama" as ModelAliasValue },
    QWEN: { value: "qwen" as ModelAliasValue },
    DEEPSEEK: { value: "deepseek" as ModelAliasValue },
    GPT_OSS: { value: "gpt_oss" as ModelAliasValue },
    PREMIUM: { value: "premium" as ModelAliasValue },
  },
});

export const ToolPermission = builder.enumType("ToolPermission", {
  values: {
    SEARCH: { value: "search" as ToolPermissionValue },
    FILE_READ: { value: "file_read" as ToolPermissionValue },
  },
});

export const AdminRole = builder.enumType("AdminRole", {
  values: {
    OWNER: { value: "owner" as const },
    ANALYST: { value: "analyst" as const },
  },
});
