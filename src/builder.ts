// The Pothos builder and nothing else. Plugin order matters: scope-auth runs
// first so unauthorized requests never reach resolvers; errors wraps results
// into typed unions; prisma plans nested selections; relay adds connections.
import SchemaBuilder from "@pothos/core";
import ScopeAuthPlugin from "@pothos/plugin-scope-auth";
import ErrorsPlugin from "@pothos/plugin-errors";
import DirectivesPlugin from "@pothos/plugin-directives";
import PrismaPlugin from "@pothos/plugin-prisma";
import RelayPlugin from "@pothos/plugin-relay";
import type PrismaTypes from "./generated/pothos-types.ts";
import { getDatamodel } from "./generated/pothos-types.ts";
import type { Context } from "./context.ts";
import { isProductionBuild } from "./config/env.ts";
import { refusalFor } from "./auth/refusal.ts";

export interface AuthScopes {
  authenticated: boolean;
  admin: boolean;
  owner: boolean;
}

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  AuthScopes: AuthScopes;
  DefaultFieldNullability: false;
  Directives: {
    requiresReady: { locations: "FIELD_DEFINITION"; args: Record<string, never> };
  };
  Scalars: {
    // Output: a Date, or an instant already written as the scalar writes it (schema/scalars.ts).
    DateTime: { Input: Date; Output: Date | string };
    Decimal: { Input: string; Output: string };
    JSON: { Input: unknown; Output: unknown };
  };
}>({
  defaultFieldNullability: false,
  plugins: [ScopeAuthPlugin, ErrorsPlugin, DirectivesPlugin, PrismaPlugin, RelayPlugin],
  scopeAuth: {
    // `authenticated` includes Gate C admission: a signed-in user outside the
    // allow-list of a closed rollout is FORBIDDEN, not anonymous.
    authScopes: (context) => ({
      authenticated: context.viewer?.admitted === true,
      admin: context.viewer?.admitted === true && context.viewer.adminRole !== null,
      owner: context.viewer?.admitted === true && context.viewer.adminRole === "owner",
    }),
    unauthorizedError: (_parent, context) => refusalFor(context),
  },
  errors: {
    defaultTypes: [],
  },
  prisma: {
    client: (context) => context.services.prisma,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    filterConnectionTotalCount: true,
    onUnusedQuery: isProductionBuild ? null : "error",
  },
  relay: {
    clientMutationId: "omit",
    cursorType: "String",
  },
});
