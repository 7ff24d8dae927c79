// sendMessage and the session's turns. sendMessage returns as soon as the
// turn is accepted; progress streams through the turnEvents subscription.
import { builder } from "../builder.ts";
import { ConflictError, ContextBudgetExceededError, InsufficientCreditsError, NoValidTagsError, RateLimitedError, RoomBudgetExceededError } from "../errors.ts";
import { BASE_MUTATION_ERRORS } from "./errors.ts";
import { requiresReady } from "./readinessDirective.ts";
import { TurnRef } from "./turn.ts";
import { CONNECTION_SIZES } from "./queryHelpers.ts";
import { viewerId } from "../resolvers/viewer.ts";
import { cancelTurn } from "../resolvers/cancelTurn.ts";
import { mutationResult } from "./mutationResult.ts";

const SendMessageInput = builder.inputType("SendMessageInput", {
  fields: (t) => ({
    sessionId: t.id({ required: true }),
    content: t.string({ required: true, description: "The message; in manual mode, tag agents with @agentKey." }),
  }),
});

builder.mutationField("sendMessage", (t) =>
  t.field({
    type: TurnRef,
    description:
      "Accepts a message and starts its turn; returns as soon as the turn is accepted (status RUNNING). Follow it with the turnEvents subscription (turnId: turn.id) for each agent's output as it streams and what each step cost, or read turn(id) later.",
    authScopes: { authenticated: true },
    directives: requiresReady,
    errors: {
      types: [...BASE_MUTATION_ERRORS, ConflictError, NoValidTagsError, ContextBudgetExceededError, RateLimitedError, InsufficientCreditsError, RoomBudgetExceededError],
      result: { name: "SendMessageSuccess" },
      union: { name: "SendMessageResult" },
      dataField: { name: "turn" },
    },
    args: { input: t.arg({ type: SendMessageInput, required: true }) },
    resolve: (_root, { input }, context) => context.services.turns.send(viewerId(context), input),
  }),
);

builder.mutationField("cancelTurn", (t) =>
  t.field({
    type: TurnRef,
    description:
      "Stops one of your running turns, from any server instance: the call in flight stops (metered with what it used), no call starts after, and the turn ends PARTIAL or FAILED with stopReason CANCELLED within about a second (follow turnEvents for the ending). A turn that already ended is returned unchanged.",
    authScopes: { authenticated: true },
    directives: requiresReady,
    errors: {
      ...mutationResult("CancelTurn", "turn"),
      result: {
        name: "CancelTurnSuccess",
        fields: (r) => ({
          cancelled: r.boolean({
            description: "True when the turn is asked to stop (by this request or an earlier one); false when it had already ended and nothing changed.",
            resolve: (turn) => turn.cancelRequestedAt !== null,
          }),
        }),
      },
    },
    args: { turnId: t.arg.id({ required: true }) },
    resolve: (_root, args, context) => cancelTurn(String(args.turnId), context),
  }),
);

builder.prismaObjectField("Session", "turns", (t) =>
  t.relatedConnection("turns", {
    description: "The session's turns, oldest first (the order of the conversation).",
    cursor: "id",
    ...CONNECTION_SIZES,
    query: { orderBy: { seq: "asc" } },
  }),
);
