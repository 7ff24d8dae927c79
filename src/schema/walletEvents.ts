// Low-balance events (SPEC 13) for the signed-in user, live.
import { GraphQLError } from "graphql";
import { builder } from "../builder.ts";
import { refusalFor } from "../auth/refusal.ts";
import type { WalletEventRecord } from "../credits/walletEventRows.ts";
import { viewerId } from "../resolvers/viewer.ts";
import { requiresReady } from "./readinessDirective.ts";

const WalletEventKind = builder.enumType("WalletEventKind", {
  values: { LOW_BALANCE: { value: "low_balance", description: "allowance + granted fell below the plan's low-balance line; raised once per crossing." } } as const,
});

const WalletEventRef = builder.objectRef<WalletEventRecord>("WalletEvent").implement({
  fields: (t) => ({
    id: t.exposeID("id", { description: "Increasing per user: pass the last one seen as afterId to resume." }),
    kind: t.field({ type: WalletEventKind, resolve: (event) => event.kind }),
    balance: t.expose("balance", { type: "Decimal", description: "allowance + granted right after the crossing (holds aside)." }),
    threshold: t.expose("threshold", { type: "Decimal" }),
    plan: t.exposeString("plan"),
    at: t.expose("createdAt", { type: "DateTime" }),
  }),
});

builder.subscriptionField("walletEvents", (t) =>
  t.field({
    type: WalletEventRef,
    description:
      "Your wallet's low-balance events: with afterId, first those after it, then live ones (within about a second of the change that raised them), each once. The stream stays open until the server shuts down.",
    authScopes: { authenticated: true },
    directives: requiresReady,
    args: { afterId: t.arg.id({ description: "The last event id this client received; omitted: from now on." }) },
    subscribe: (_root, args, context) => {
      // The subscribe step runs before field authorization would: an anonymous client gets the typed refusal here.
      if (!context.viewer?.admitted) throw refusalFor(context);
      const afterId = args.afterId === null || args.afterId === undefined ? null : String(args.afterId);
      if (afterId !== null && !/^\d{1,18}$/.test(afterId)) throw new GraphQLError("afterId must be a wallet event id.", { extensions: { code: "VALIDATION_FAILED" } });
      return context.services.walletEvents.subscribe(viewerId(context), afterId);
    },
    resolve: (event) => event,
  }),
);
