// Owner-only account state: suspension and reactivation (SRS FR-ADMIN-003).
import { builder } from "../builder.ts";
import { setAccountSuspended, type AccountState } from "../resolvers/accountSuspension.ts";
import { requiresReady } from "./readinessDirective.ts";
import { mutationResult } from "./mutationResult.ts";

const AccountStateRef = builder.objectRef<AccountState>("AccountState").implement({
  fields: (t) => ({
    userId: t.exposeID("userId"),
    suspended: t.boolean({ resolve: (state) => state.suspendedAt !== null }),
    suspendedAt: t.expose("suspendedAt", { type: "DateTime", nullable: true }),
  }),
});

const SetAccountSuspendedInput = builder.inputType("SetAccountSuspendedInput", {
  fields: (t) => ({
    userId: t.id({ required: true }),
    suspended: t.boolean({ required: true, description: "true suspends, false reactivates." }),
    reason: t.string({ description: "Kept in the audit log." }),
  }),
});

builder.mutationField("setAccountSuspended", (t) =>
  t.field({
    type: AccountStateRef,
    description:
      "Owner only. Suspends or reactivates an account, audit-logged. A suspended account gets FORBIDDEN on every field that needs a signed-in user (on other instances within 30 s; sends and previews at once, everywhere); its running turns finish.",
    authScopes: { owner: true },
    directives: requiresReady,
    errors: mutationResult("SetAccountSuspended", "account"),
    args: { input: t.arg({ type: SetAccountSuspendedInput, required: true }) },
    resolve: (_root, { input }, context) => setAccountSuspended(input, context),
  }),
);
