// Credits (SPEC 13): the viewer's wallet and transactions; owners grant and adjust.
import { builder } from "../builder.ts";
import { currentWallet, grantCredits, type WalletView } from "../resolvers/credits.ts";
import { estimateTurnCost, type TurnCostEstimate } from "../resolvers/estimateTurnCost.ts";
import { NoValidTagsError, NotFoundError, NotReadyError, ValidationError } from "../errors.ts";
import { TurnModeEnum } from "./turn.ts";
import { ViewerRef } from "./viewer.ts";
import { requiresReady } from "./readinessDirective.ts";
import { mutationResult } from "./mutationResult.ts";
import { CONNECTION_SIZES, assertOwnCursors } from "./queryHelpers.ts";

const CreditTransactionKind = builder.enumType("CreditTransactionKind", {
  values: {
    PLAN_ALLOWANCE: { value: "plan_allowance", description: "The month's plan allowance (the previous month's unspent allowance lapses)." },
    GRANT: { value: "grant", description: "Credits an owner granted; they never expire." },
    ADJUSTMENT: { value: "adjustment", description: "An owner's correction, either sign." },
    DEBIT: { value: "debit", description: "One metered provider call (its ledger row)." },
    HOLD: { value: "hold", description: "Credits held for a turn's next provider call, before it starts: the most that call can cost (its first at accept)." },
    RELEASE: { value: "release", description: "What a turn still held when it ended." },
  } as const,
});

export const WalletRef = builder.objectRef<WalletView>("Wallet").implement({
  description: "Your credits. available = allowance + granted − held; debits draw from the allowance first.",
  fields: (t) => ({
    plan: t.exposeString("plan", { description: "starter, pro or power." }),
    allowance: t.expose("allowance", { type: "Decimal", description: "What is left of this month's plan allowance; it lapses at periodEnd." }),
    granted: t.expose("granted", { type: "Decimal", description: "Granted credits (never expire), less debits the allowance did not cover." }),
    held: t.expose("held", { type: "Decimal", description: "Held by running turns; released as they end." }),
    available: t.expose("available", { type: "Decimal", description: "What a new message may hold." }),
    periodStart: t.expose("periodStart", { type: "DateTime" }),
    periodEnd: t.expose("periodEnd", { type: "DateTime", description: "When the allowance lapses and the next month's is granted (UTC)." }),
    userId: t.exposeID("userId"),
    lowBalanceThreshold: t.expose("lowBalanceThreshold", { type: "Decimal", description: "The plan's low-balance line (10% of its allowance unless changed)." }),
    lowBalance: t.boolean({
      description: "allowance + granted (holds aside) is below lowBalanceThreshold; walletEvents raised LOW_BALANCE when it crossed.",
      resolve: (wallet) => wallet.lowBalanceSince !== null,
    }),
    lowBalanceSince: t.expose("lowBalanceSince", { type: "DateTime", nullable: true, description: "When it crossed below the line; null when above." }),
  }),
});

export const CreditTransactionRef = builder.prismaObject("CreditTransaction", {
  description: "An entry of your credit history; entries are never edited.",
  fields: (t) => ({
    id: t.exposeID("id"),
    kind: t.expose("kind", { type: CreditTransactionKind }),
    amount: t.field({ type: "Decimal", description: "The entry's size (an adjustment is signed).", resolve: (row) => row.amount.toFixed(4) }),
    fromHold: t.field({ type: "Decimal", description: "A debit: the part its call's hold covered.", resolve: (row) => row.fromHold.toFixed(4) }),
    released: t.field({ type: "Decimal", description: "A debit: what its call's hold did not use, back to available with it.", resolve: (row) => row.released.toFixed(4) }),
    balanceAfter: t.field({ type: "Decimal", description: "available right after this entry.", resolve: (row) => row.balanceAfter.toFixed(4) }),
    initiatedBy: t.exposeString("initiatedBy", { description: "user:<id>, admin:<id> or system." }),
    turnId: t.exposeID("turnId", { nullable: true }),
    ledgerEventId: t.exposeID("ledgerEventId", { nullable: true, description: "A debit: the llmCallEvents row it charges." }),
    note: t.exposeString("note", { nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

/** One connection type for every list of credit transactions (yours, or a user's for admins). */
export const CreditTransactionsConnection = builder.connectionObject({ type: CreditTransactionRef, name: "CreditTransactionsConnection" }, { name: "CreditTransactionsEdge" });

builder.objectField(ViewerRef, "wallet", (t) =>
  t.field({
    type: WalletRef,
    description: "Your wallet in the current month (UTC).",
    authScopes: { authenticated: true },
    directives: requiresReady,
    resolve: (_viewer, _args, context) => currentWallet(context),
  }),
);

builder.objectField(ViewerRef, "creditTransactions", (t) =>
  t.prismaConnection(
    {
      type: "CreditTransaction",
      cursor: "id",
      ...CONNECTION_SIZES,
      authScopes: { authenticated: true },
      directives: requiresReady,
      description: "Your credit history, newest first.",
      resolve: async (query, viewer, args, context) => {
        await assertOwnCursors(args, (id) => context.services.prisma.creditTransaction.count({ where: { id, userId: viewer.id } }));
        return context.services.prisma.creditTransaction.findMany({ ...query, where: { userId: viewer.id }, orderBy: [{ createdAt: "desc" }, { id: "desc" }] });
      },
    },
    CreditTransactionsConnection,
  ),
);

const GrantCreditsInput = builder.inputType("GrantCreditsInput", {
  fields: (t) => ({
    userId: t.id({ required: true }),
    kind: t.field({ type: CreditTransactionKind, required: true, description: "GRANT (positive) or ADJUSTMENT (either sign)." }),
    amount: t.field({ type: "Decimal", required: true }),
    idempotencyKey: t.string({ required: true, description: "Yours, unique per grant: a retry with the same key changes nothing and returns the first transaction." }),
    note: t.string(),
    allowNegativeBalance: t.boolean({
      description: "An ADJUSTMENT that would take the wallet's available credits below zero is refused (VALIDATION_FAILED) unless this is true; the wallet then shows a negative available and sends are refused under enforcement until it is positive.",
    }),
  }),
});

builder.mutationField("grantCredits", (t) =>
  t.field({
    type: CreditTransactionRef,
    description: "Owner only. Grants or adjusts a user's credits, audit-logged in the same transaction.",
    authScopes: { owner: true },
    directives: requiresReady,
    errors: mutationResult("GrantCredits", "transaction", { conflict: true }),
    args: { input: t.arg({ type: GrantCreditsInput, required: true }) },
    resolve: (_root, { input }, context) => grantCredits({ ...input, kind: input.kind as "grant" | "adjustment" }, context),
  }),
);

const TurnCostEstimateRef = builder.objectRef<TurnCostEstimate>("TurnCostEstimate").implement({
  description: "What sending this message would cost now, in credits, without any provider call (docs/credits.md).",
  fields: (t) => ({
    mode: t.field({ type: TurnModeEnum, resolve: (estimate) => estimate.mode as never }),
    min: t.field({ type: "Decimal", description: "Each planned call reading only its pinned prompt and answering in one token.", resolve: (estimate) => estimate.min }),
    expected: t.field({
      type: "Decimal",
      description: "Each planned agent reading the session's history and the turn's earlier answers, answering with your mean output on its model.",
      resolve: (estimate) => estimate.expected,
    }),
    max: t.field({
      type: "Decimal",
      description: "The most the turn can cost at the current history: the sum of the bounds of its calls, each held just before it runs (docs/credits.md).",
      resolve: (estimate) => estimate.max,
    }),
    firstCall: t.field({ type: "Decimal", description: "What sending holds now: the bound of the turn's first call.", resolve: (estimate) => estimate.firstCall }),
    required: t.field({
      type: "Decimal",
      description: "The least a send needs available under enforcement: the first call's bound with its output lowered to MIN_OUTPUT_TOKENS.",
      resolve: (estimate) => estimate.required,
    }),
    available: t.expose("available", { type: "Decimal", description: "Your wallet's available credits now." }),
    roomAvailable: t.expose("roomAvailable", {
      type: "Decimal",
      nullable: true,
      description: "What is left of the room's monthly credit budget (a send needs max within it too); null when the room has none.",
    }),
  }),
});

const EstimateTurnCostInput = builder.inputType("EstimateTurnCostInput", {
  fields: (t) => ({
    sessionId: t.id({ required: true }),
    content: t.string({ required: true, description: "The message as it would be sent (manual mode: its @tags choose the agents)." }),
  }),
});

builder.queryField("estimateTurnCost", (t) =>
  t.field({
    type: TurnCostEstimateRef,
    description: "Min, expected and max credits of sending this message in this session with its current mode and roster. No provider call; like any read of your wallet, it may open the month's allowance.",
    authScopes: { authenticated: true },
    directives: requiresReady,
    errors: {
      types: [ValidationError, NotFoundError, NotReadyError, NoValidTagsError],
      result: { name: "EstimateTurnCostSuccess" },
      union: { name: "EstimateTurnCostResult" },
      dataField: { name: "estimate" },
    },
    args: { input: t.arg({ type: EstimateTurnCostInput, required: true }) },
    resolve: (_root, { input }, context) => estimateTurnCost(input, context),
  }),
);
