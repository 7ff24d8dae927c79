// A room's monthly credit budget (SPEC 13): Room.creditBudget and its owner's setRoomCreditBudget.
import { builder } from "../builder.ts";
import { roomCreditBudget, setRoomCreditBudget, type RoomCreditBudget } from "../resolvers/roomCreditBudget.ts";
import { mutationResult } from "./mutationResult.ts";
import { requiresReady } from "./readinessDirective.ts";
import { RoomRef } from "./room.ts";

const RoomCreditBudgetRef = builder.objectRef<RoomCreditBudget>("RoomCreditBudget").implement({
  description: "The room's credits this month (UTC). Sends in the room hold against its cap like against your wallet; both must cover the hold.",
  fields: (t) => ({
    monthlyBudget: t.expose("monthlyBudget", { type: "Decimal", nullable: true, description: "The cap; null: none." }),
    spent: t.expose("spent", { type: "Decimal", description: "This month's metered calls in the room." }),
    held: t.expose("held", { type: "Decimal", description: "Held by the room's running turns." }),
    available: t.expose("available", { type: "Decimal", nullable: true, description: "monthlyBudget − spent − held: what a new message in the room may hold; null without a cap." }),
    periodStart: t.expose("periodStart", { type: "DateTime" }),
    periodEnd: t.expose("periodEnd", { type: "DateTime", description: "When the month's spending starts again from 0." }),
  }),
});

builder.objectField(RoomRef, "creditBudget", (t) =>
  t.field({
    type: RoomCreditBudgetRef,
    description: "The room's monthly credit cap and what it used this month.",
    resolve: (room, _args, context) => roomCreditBudget(room.id, context),
  }),
);

const SetRoomCreditBudgetInput = builder.inputType("SetRoomCreditBudgetInput", {
  fields: (t) => ({
    roomId: t.id({ required: true }),
    monthlyBudget: t.field({ type: "Decimal", required: false, description: "Credits per month (UTC), 0 to 1000000; null or omitted clears the cap." }),
  }),
});

builder.mutationField("setRoomCreditBudget", (t) =>
  t.field({
    type: RoomRef,
    description:
      "Sets or clears the room's monthly credit cap. Under CREDIT_ENFORCEMENT enforce, a send whose hold exceeds what is left of it gets RoomBudgetExceededError; running turns finish.",
    authScopes: { authenticated: true },
    directives: requiresReady,
    errors: mutationResult("SetRoomCreditBudget", "room"),
    args: { input: t.arg({ type: SetRoomCreditBudgetInput, required: true }) },
    resolve: (_root, { input }, context) => setRoomCreditBudget({ roomId: input.roomId, monthlyBudget: input.monthlyBudget ?? null }, context),
  }),
);
