// sendMessage and the session's turns. sendMessage returns as soon as the
// turn is accepted; progress streams through the turnEvents subscription.
import { builder } from "../builder.ts";
import { ConflictError, ContextBudgetExceededError, InsufficientCreditsError, NoValidTagsError, RateLimitedError, RoomBudgetExceededError } from "../errors.ts";
import { BASE_MUTATION_ERRORS } from "./errors.ts";
import { requiresReady } from "./readinessDirective.ts";
import { TurnRef } from "./turn.ts";
import { CONNECTION_SIZES } from "./queryHelpers.ts";
import { viewerId } from "../resolvers/viewer.ts";

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

builder.prismaObjectField("Session", "turns", (t) =>
  t.relatedConnection("turns", {
    description: "The session's turns, oldest first (the order of the conversation).",
    cursor: "id",
    ...CONNECTION_SIZES,
    query: { orderBy: { seq: "asc" } },
  }),
);
