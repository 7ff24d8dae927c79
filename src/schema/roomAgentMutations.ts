// Roster mutations: assign, unassign, reorder a room's agents.
import { builder } from "../builder.ts";
import { assignAgent, reorderRoomAgents, unassignAgent } from "../resolvers/roomAgents.ts";
import { mutationResult } from "./mutationResult.ts";
import { requiresReady } from "./readinessDirective.ts";
import { RoomRef } from "./room.ts";

const AssignAgentInput = builder.inputType("AssignAgentInput", {
  fields: (t) => ({
    roomId: t.id({ required: true }),
    agentId: t.id({ required: true }),
    position: t.int({ description: "0-based place in the roster; appended when omitted." }),
  }),
});

const UnassignAgentInput = builder.inputType("UnassignAgentInput", {
  fields: (t) => ({
    roomId: t.id({ required: true }),
    agentId: t.id({ required: true }),
  }),
});

const ReorderRoomAgentsInput = builder.inputType("ReorderRoomAgentsInput", {
  fields: (t) => ({
    roomId: t.id({ required: true }),
    agentIds: t.idList({ required: true, description: "Every agent of the room exactly once, in the new order." }),
  }),
});

const rosterMutation = { type: RoomRef, authScopes: { authenticated: true }, directives: requiresReady } as const;

builder.mutationFields((t) => ({
  assignAgent: t.field({
    ...rosterMutation,
    errors: mutationResult("AssignAgent", "room", { conflict: true }),
    args: { input: t.arg({ type: AssignAgentInput, required: true }) },
    resolve: (_root, { input }, context) => assignAgent(input, context),
  }),
  unassignAgent: t.field({
    ...rosterMutation,
    errors: mutationResult("UnassignAgent", "room"),
    args: { input: t.arg({ type: UnassignAgentInput, required: true }) },
    resolve: (_root, { input }, context) => unassignAgent(input, context),
  }),
  reorderRoomAgents: t.field({
    ...rosterMutation,
    errors: mutationResult("ReorderRoomAgents", "room"),
    args: { input: t.arg({ type: ReorderRoomAgentsInput, required: true }) },
    resolve: (_root, { input }, context) => reorderRoomAgents(input, context),
  }),
}));
