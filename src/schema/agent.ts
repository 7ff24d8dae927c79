// The Agent type, its queries and its mutations.
import { builder } from "../builder.ts";
import { createAgent, deleteAgent, liveAgentWhere, updateAgent } from "../resolvers/agent.ts";
import { selectAgentPage } from "../resolvers/agentSql.ts";
import { countLiveOwned } from "../resolvers/ownedPageSql.ts";
import { viewerId } from "../resolvers/viewer.ts";
import { pageWindow, toConnection } from "./cursorPage.ts";
import { ModelAlias, ToolPermission } from "./domainEnums.ts";
import { mutationResult } from "./mutationResult.ts";
import { requiresReady } from "./readinessDirective.ts";
import { CONNECTION_SIZES, assertOwnCursors, decodeQueryId, notFoundQueryError } from "./queryHelpers.ts";

// Not in select mode: plugin-prisma wraps every field of a select-mode type
// and loads, through Prisma again, any row it did not plan itself; agents
// preloaded by the rooms page (one SQL statement) must resolve as they are.
export const AgentRef = builder.prismaObject("Agent", {
  fields: (t) => ({
    id: t.exposeID("id"),
    agentKey: t.exposeString("agentKey", { description: "Unique among your agents; tag it as @agentKey in a message." }),
    name: t.exposeString("name"),
    modelAlias: t.expose("modelAlias", { type: ModelAlias }),
    rolePrompt: t.exposeString("rolePrompt"),
    toolPermissions: t.expose("toolPermissions", { type: [ToolPermission] }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

const CreateAgentInput = builder.inputType("CreateAgentInput", {
  fields: (t) => ({
    agentKey: t.string({ required: true, description: "2 to 32 characters of a-z, 0-9 and _." }),
    name: t.string({ required: true }),
    modelAlias: t.field({ type: ModelAlias, required: true }),
    rolePrompt: t.string(),
    toolPermissions: t.field({ type: [ToolPermission] }),
  }),
});

const UpdateAgentInput = builder.inputType("UpdateAgentInput", {
  fields: (t) => ({
    id: t.id({ required: true }),
    agentKey: t.string(),
    name: t.string(),
    modelAlias: t.field({ type: ModelAlias }),
    rolePrompt: t.string(),
    toolPermissions: t.field({ type: [ToolPermission] }),
  }),
});

const DeleteAgentInput = builder.inputType("DeleteAgentInput", { fields: (t) => ({ id: t.id({ required: true }) }) });

builder.queryFields((t) => ({
  agent: t.prismaField({
    type: "Agent",
    nullable: true,
    description: "One of your agents; NOT_FOUND for a missing, deleted or foreign id.",
    authScopes: { authenticated: true },
    directives: requiresReady,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, context) => {
      const where = liveAgentWhere(context, decodeQueryId(args.id, "Agent"));
      return (await context.services.prisma.agent.findFirst({ ...query, where })) ?? notFoundQueryError("Agent");
    },
  }),
  // One SQL statement per page, as the rooms page (agentSql.ts); same cursors
  // and paging as prismaConnection({ cursor: "id" }).
  agents: t.connection(
    {
      type: AgentRef,
      description: "Your live agents, newest first.",
      authScopes: { authenticated: true },
      directives: requiresReady,
      resolve: async (_root, args, context) => {
        const window = pageWindow(args, CONNECTION_SIZES);
        const ownerId = viewerId(context);
        const cursorId = await assertOwnCursors(args, (id) => countLiveOwned(context.services, "agents", id, ownerId));
        const agents = await selectAgentPage(context.services, { ownerId, cursorId, ...window });
        return toConnection(agents, args, window);
      },
    },
    { name: "AgentConnection" },
    { name: "AgentEdge" },
  ),
}));

builder.mutationFields((t) => ({
  createAgent: t.field({
    type: AgentRef,
    authScopes: { authenticated: true },
    directives: requiresReady,
    errors: mutationResult("CreateAgent", "agent", { conflict: true }),
    args: { input: t.arg({ type: CreateAgentInput, required: true }) },
    resolve: (_root, { input }, context) => createAgent(input, context),
  }),
  updateAgent: t.field({
    type: AgentRef,
    authScopes: { authenticated: true },
    directives: requiresReady,
    errors: mutationResult("UpdateAgent", "agent", { conflict: true }),
    args: { input: t.arg({ type: UpdateAgentInput, required: true }) },
    resolve: (_root, { input }, context) => updateAgent(input, context),
  }),
  deleteAgent: t.field({
    type: AgentRef,
    authScopes: { authenticated: true },
    directives: requiresReady,
    errors: mutationResult("DeleteAgent", "agent"),
    args: { input: t.arg({ type: DeleteAgentInput, required: true }) },
    resolve: (_root, { input }, context) => deleteAgent(input, context),
  }),
}));
