// Room mutations: create, update, set mode, delete, restore.
import { builder } from "../builder.ts";
import { createRoom, deleteRoom, restoreRoom, setRoomMode, updateRoom } from "../resolvers/room.ts";
import { RoomMode } from "./domainEnums.ts";
import { mutationResult } from "./mutationResult.ts";
import { requiresReady } from "./readinessDirective.ts";
import { RoomRef } from "./room.ts";

const CreateRoomInput = builder.inputType("CreateRoomInput", {
  fields: (t) => ({
    name: t.string({ required: true, description: "1 to 120 characters." }),
    goal: t.string({ description: "At most 2,000 characters; empty by default." }),
    mode: t.field({ type: RoomMode, description: "MANUAL by default. ORCHESTRATOR needs the routing gate." }),
  }),
});

const UpdateRoomInput = builder.inputType("UpdateRoomInput", {
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string(),
    goal: t.string(),
  }),
});

const SetRoomModeInput = builder.inputType("SetRoomModeInput", {
  fields: (t) => ({
    roomId: t.id({ required: true }),
    mode: t.field({ type: RoomMode, required: true }),
  }),
});

const DeleteRoomInput = builder.inputType("DeleteRoomInput", { fields: (t) => ({ id: t.id({ required: true }) }) });
const RestoreRoomInput = builder.inputType("RestoreRoomInput", { fields: (t) => ({ id: t.id({ required: true }) }) });

const roomMutation = { type: RoomRef, authScopes: { authenticated: true }, directives: requiresReady } as const;

builder.mutationFields((t) => ({
  createRoom: t.field({
    ...roomMutation,
    errors: mutationResult("CreateRoom", "room"),
    args: { input: t.arg({ type: CreateRoomInput, required: true }) },
    resolve: (_root, { input }, context) => createRoom(input, context),
  }),
  updateRoom: t.field({
    ...roomMutation,
    errors: mutationResult("UpdateRoom", "room"),
    args: { input: t.arg({ type: UpdateRoomInput, required: true }) },
    resolve: (_root, { input }, context) => updateRoom(input, context),
  }),
  setRoomMode: t.field({
    ...roomMutation,
    description: "Sets pendingMode only; the next message switches currentMode.",
    errors: mutationResult("SetRoomMode", "room"),
    args: { input: t.arg({ type: SetRoomModeInput, required: true }) },
    resolve: (_root, { input }, context) => setRoomMode(input, context),
  }),
  deleteRoom: t.field({
    ...roomMutation,
    description: "Soft delete: the room disappears from lists and lookups; restoreRoom brings it back within 7 days.",
    errors: mutationResult("DeleteRoom", "room"),
    args: { input: t.arg({ type: DeleteRoomInput, required: true }) },
    resolve: (_root, { input }, context) => deleteRoom(input, context),
  }),
  restoreRoom: t.field({
    ...roomMutation,
    errors: mutationResult("RestoreRoom", "room", { conflict: true }),
    args: { input: t.arg({ type: RestoreRoomInput, required: true }) },
    resolve: (_root, { input }, context) => restoreRoom(input, context),
  }),
}));
