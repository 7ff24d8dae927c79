// Credit administration (SPEC 13): owners set plans and the enforcement mode;
// owners and analysts read any user's wallet and credit history.
import { builder } from "../builder.ts";
import { CREDIT_ENFORCEMENTS, CREDIT_PLANS, type CreditEnforcement } from "../config/credits.ts";
import { creditEnforcementState, creditPlans, setCreditEnforcement, setPlanLowBalanceThreshold, setUserPlan, walletOfUser, type CreditEnforcementState } from "../resolvers/creditAdmin.ts";
import type { CreditPlanRow } from "../credits/adminSql.ts";
import { mutationResult } from "./mutationResult.ts";
import { requiresReady } from "./readinessDirective.ts";
import { CONNECTION_SIZES, assertOwnCursors, decodeQueryId, notFoundQueryError } from "./queryHelpers.ts";
import { CreditTransactionsConnection, WalletRef } from "./credits.ts";

const enumValues = <T extends string>(names: readonly T[], describe: (name: T) => string) =>
  Object.fromEntries(names.map((name) => [name.toUpperCase(), { value: name, description: describe(name) }])) as Record<Uppercase<T>, { value: T; description: string }>;

export const CreditPlanEnum = builder.enumType("CreditPlan", {
  values: enumValues(CREDIT_PLANS, (plan) => ({ starter: "495 credits a month.", pro: "1,980 credits a month.", power: "4,180 credits a month." })[plan]),
});

const CreditEnforcementEnum = builder.enumType("CreditEnforcement", {
  values: enumValues(CREDIT_ENFORCEMENTS, (mode) =>
    ({
      off: "No holds, no refusals; calls are still debited.",
      warn: "Turns hold and run whatever the balance; low-balance events are raised.",
      enforce: "A send whose hold exceeds the wallet's available credits or the room's budget is refused.",
    })[mode],
  ),
});

const CreditEnforcementStateRef = builder.objectRef<CreditEnforcementState>("CreditEnforcementState").implement({
  fields: (t) => ({
    mode: t.field({ type: CreditEnforcementEnum, description: "What applies now: the override, else this instance's CREDIT_ENFORCEMENT.", resolve: (state) => state.mode }),
    override: t.field({ type: CreditEnforcementEnum, nullable: true, description: "The owners' runtime override, for every instance; null: none.", resolve: (state) => state.override }),
    configured: t.field({ type: CreditEnforcementEnum, description: "This instance's CREDIT_ENFORCEMENT.", resolve: (state) => state.configured }),
  }),
});

builder.queryField("creditEnforcement", (t) =>
  t.field({
    type: CreditEnforcementStateRef,
    description: "Owners and analysts: the credit enforcement mode in force.",
    authScopes: { admin: true },
    directives: requiresReady,
    resolve: (_root, _args, context) => creditEnforcementState(context),
  }),
);

const SetCreditEnforcementInput = builder.inputType("SetCreditEnforcementInput", {
  fields: (t) => ({ mode: t.field({ type: CreditEnforcementEnum, required: false, description: "null or omitted removes the override." }) }),
});

builder.mutationField("setCreditEnforcement", (t) =>
  t.field({
    type: CreditEnforcementStateRef,
    description: "Owner only. Overrides CREDIT_ENFORCEMENT on every instance at once (sends read it as they are accepted), audit-logged with before and after.",
    authScopes: { owner: true },
    directives: requiresReady,
    errors: mutationResult("SetCreditEnforcement", "enforcement"),
    args: { input: t.arg({ type: SetCreditEnforcementInput, required: true }) },
    resolve: (_root, { input }, context) => setCreditEnforcement({ mode: (input.mode ?? null) as CreditEnforcement | null }, context),
  }),
);

const SetUserPlanInput = builder.inputType("SetUserPlanInput", {
  fields: (t) => ({ userId: t.id({ required: true }), plan: t.field({ type: CreditPlanEnum, required: true }) }),
});

builder.mutationField("setUserPlan", (t) =>
  t.field({
    type: WalletRef,
    description:
      "Owner only, audit-logged. The plan's allowance applies from next month; an upgrade also tops up this month's allowance by the difference (once per month and plan), a downgrade keeps this month's.",
    authScopes: { owner: true },
    directives: requiresReady,
    errors: mutationResult("SetUserPlan", "wallet"),
    args: { input: t.arg({ type: SetUserPlanInput, required: true }) },
    resolve: (_root, { input }, context) => setUserPlan(input, context),
  }),
);

builder.queryField("userWallet", (t) =>
  t.field({
    type: WalletRef,
    description: "Owners and analysts: a user's wallet now. Reading it changes nothing (a wallet not opened this month shows the allowance it will open with).",
    authScopes: { admin: true },
    directives: requiresReady,
    args: { userId: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => (await walletOfUser(decodeQueryId(args.userId, "User"), context)) ?? notFoundQueryError("User"),
  }),
);

builder.queryField("userCreditTransactions", (t) =>
  t.prismaConnection(
    {
      type: "CreditTransaction",
      cursor: "id",
      ...CONNECTION_SIZES,
      description: "Owners and analysts: a user's credit history, newest first.",
      authScopes: { admin: true },
      directives: requiresReady,
      args: { userId: t.arg.id({ required: true }) },
      resolve: async (query, _root, args, context) => {
        const userId = decodeQueryId(args.userId, "User");
        await assertOwnCursors(args, (id) => context.services.prisma.creditTransaction.count({ where: { id, userId } }));
        return context.services.prisma.creditTransaction.findMany({ ...query, where: { userId }, orderBy: [{ createdAt: "desc" }, { id: "desc" }] });
      },
    },
    CreditTransactionsConnection,
  ),
);

const CreditPlanInfoRef = builder.objectRef<CreditPlanRow>("CreditPlanInfo").implement({
  fields: (t) => ({
    plan: t.field({ type: CreditPlanEnum, resolve: (row) => row.plan as (typeof CREDIT_PLANS)[number] }),
    monthlyAllowance: t.expose("monthly_allowance", { type: "Decimal" }),
    lowBalanceThreshold: t.expose("low_balance_threshold", {
      type: "Decimal",
      description: "A wallet on the plan whose allowance + granted falls below it raises one LOW_BALANCE event per crossing.",
    }),
  }),
});

builder.queryField("creditPlans", (t) =>
  t.field({
    type: [CreditPlanInfoRef],
    description: "Owners and analysts: the plans, cheapest first.",
    authScopes: { admin: true },
    directives: requiresReady,
    resolve: (_root, _args, context) => creditPlans(context),
  }),
);

const SetLowBalanceThresholdInput = builder.inputType("SetLowBalanceThresholdInput", {
  fields: (t) => ({
    plan: t.field({ type: CreditPlanEnum, required: true }),
    threshold: t.field({ type: "Decimal", required: true, description: "Credits, 0 to 1000000 (0: never)." }),
  }),
});

builder.mutationField("setLowBalanceThreshold", (t) =>
  t.field({
    type: CreditPlanInfoRef,
    description:
      "Owner only, audit-logged. The plan's low-balance line (10% of its allowance until changed). Each wallet is measured against it at its next balance change.",
    authScopes: { owner: true },
    directives: requiresReady,
    errors: mutationResult("SetLowBalanceThreshold", "plan"),
    args: { input: t.arg({ type: SetLowBalanceThresholdInput, required: true }) },
    resolve: (_root, { input }, context) => setPlanLowBalanceThreshold(input, context),
  }),
);
