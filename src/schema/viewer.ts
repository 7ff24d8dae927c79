// The signed-in user. Answers without the database: the context built it.
import { builder } from "../builder.ts";
import type { Viewer } from "../auth/viewer.ts";
import { AdminRole } from "./domainEnums.ts";

export const ViewerRef = builder.objectRef<Viewer>("Viewer").implement({
  fields: (t) => ({
    id: t.exposeID("id", { description: "The Supabase Auth user id." }),
    adminRole: t.field({ type: AdminRole, nullable: true, resolve: (viewer) => viewer.adminRole }),
    admitted: t.exposeBoolean("admitted", { description: "False while the rollout stage does not admit this account." }),
  }),
});

builder.queryField("viewer", (t) =>
  t.field({
    type: ViewerRef,
    nullable: true,
    description: "The signed-in user; null without an access token.",
    resolve: (_root, _args, context) => context.viewer,
  }),
);
