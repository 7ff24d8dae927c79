// A room's orchestrator turn limits (SPEC 16): Room.turnLimits and its owner's setRoomTurnLimits.
import { builder } from "../builder.ts";
import { setRoomTurnLimits, turnLimitsOf } from "../resolvers/roomTurnLimits.ts";
import { TURN_LIMIT_RANGES, type TurnLimits } from "../turns/turnLimits.ts";
import { mutationResult } from "./mutationResult.ts";
import { requiresReady } from "./readinessDirective.ts";
import { RoomRef } from "./room.ts";

const range = (key: keyof TurnLimits) => `${TURN_LIMIT_RANGES[key].min} to ${TURN_LIMIT_RANGES[key].max}`;

const RoomTurnLimitsRef = builder.objectRef<TurnLimits>("RoomTurnLimits").implement({
  description: "What one turn in the room may do; a turn keeps the limits it was accepted with.",
  fields: (t) => ({
    maxRounds: t.exposeInt("maxRounds", { description: "Orchestrator: rounds of agents; the manager is not asked to continue after the last (MAX_ROUNDS)." }),
    maxInvocations: t.exposeInt("maxInvocations", { description: "Orchestrator: agent steps in one turn (MAX_INVOCATIONS)." }),
    maxPerAgent: t.exposeInt("maxPerAgent", { description: "Orchestrator: steps of any one agent in one turn (MAX_INVOCATIONS)." }),
    timeLimitSeconds: t.exposeInt("timeLimitSeconds", { description: "Any mode: wall-clock seconds from the send; past them the call in flight stops (TIMEOUT)." }),
  }),
});

builder.objectField(RoomRef, "turnLimits", (t) =>
  t.field({ type: RoomTurnLimitsRef, description: "The limits of the room's turns.", resolve: (room) => turnLimitsOf(room) }),
);

const SetRoomTurnLimitsInput = builder.inputType("SetRoomTurnLimitsInput", {
  description: "The limits to change; those left out keep their value.",
  fields: (t) => ({
    roomId: t.id({ required: true }),
    maxRounds: t.int({ required: false, description: range("maxRounds") }),
    maxInvocations: t.int({ required: false, description: range("maxInvocations") }),
    maxPerAgent: t.int({ required: false, description: range("maxPerAgent") }),
    timeLimitSeconds: t.int({ required: false, description: range("timeLimitSeconds") }),
  }),
});

builder.mutationField("setRoomTurnLimits", (t) =>
  t.field({
    type: RoomRef,
    description: "Changes the room's turn limits (defaults: 3 rounds, 12 agent steps, 3 per agent, 600 s). Turns accepted from now on use them.",
    authScopes: { authenticated: true },
    directives: requiresReady,
    errors: mutationResult("SetRoomTurnLimits", "room"),
    args: { input: t.arg({ type: SetRoomTurnLimitsInput, required: true }) },
    resolve: (_root, { input }, context) => setRoomTurnLimits(input, context),
  }),
);
