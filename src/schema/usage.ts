// Usage reports on the viewer, and on a room, a session and a turn.
import { builder } from "../builder.ts";
import { ModelAlias } from "./domainEnums.ts";
import { requiresReady } from "./readinessDirective.ts";
import { ViewerRef } from "./viewer.ts";
import { UsageDimensionEnum, UsageReportRef } from "./usageTypes.ts";
import { scopedUsage, viewerUsage, type ScopeKind } from "../resolvers/usage.ts";

export const UsageFilterInput = builder.inputType("UsageFilterInput", {
  description: "A half-open UTC range [from, to) of at most 366 days, optionally narrowed.",
  fields: (t) => ({
    from: t.field({ type: "DateTime", required: true }),
    to: t.field({ type: "DateTime", required: true }),
    roomId: t.id(),
    sessionId: t.id({ description: "A room session or a direct chat." }),
    modelAlias: t.field({ type: ModelAlias }),
  }),
});

const PRICING_VERSION_DESCRIPTION = "Recompute credits from the stored token counts under this pricing version (rows are not changed). Omitted: credits as charged.";

builder.objectField(ViewerRef, "usage", (t) =>
  t.field({
    type: UsageReportRef,
    description: "The viewer's usage over a range: totals and optional groups.",
    authScopes: { authenticated: true },
    directives: requiresReady,
    args: {
      filter: t.arg({ type: UsageFilterInput, required: true }),
      groupBy: t.arg({ type: [UsageDimensionEnum], required: false, description: "Dimensions to group by; totals only when empty." }),
      pricingVersion: t.arg.string({ description: PRICING_VERSION_DESCRIPTION }),
    },
    resolve: (_viewer, args, context) => viewerUsage(args, context),
  }),
);

export type ScopedModel = "Room" | "Session" | "Turn";

/** Adds `usage` to a scope's type; the turn's is added where the Turn type is built into the schema. */
export function addScopedUsageField(scope: { model: ScopedModel; kind: ScopeKind; description: string }) {
  builder.prismaObjectField(scope.model, "usage", (t) =>
    t.field({
      type: UsageReportRef,
      description: scope.description,
      authScopes: { authenticated: true },
      directives: requiresReady,
      select: { id: true },
      args: {
        groupBy: t.arg({ type: [UsageDimensionEnum], required: false, description: "Dimensions to group by; totals only when empty." }),
        pricingVersion: t.arg.string({ description: PRICING_VERSION_DESCRIPTION }),
      },
      resolve: (parent, args, context) => scopedUsage(scope.kind, parent.id, args, context),
    }),
  );
}

addScopedUsageField({ model: "Room", kind: "room", description: "All-time usage of this room's calls." });
addScopedUsageField({ model: "Session", kind: "session", description: "All-time usage of this session's calls (room session or direct chat)." });
