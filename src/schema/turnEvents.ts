// turnEvents: a turn's progress over SSE. Every event carries the turn's
// sequence number; pass the last one seen as afterSequence to resume.
import { builder } from "../builder.ts";
import type { TurnEvent } from "../turns/events.ts";
import { subscribeTurnEvents } from "../resolvers/turnEvents.ts";
import { requiresReady } from "./readinessDirective.ts";
import { RosterEntryRef, StepKindEnum, StepStatusEnum, TurnModeEnum, TurnStatusEnum } from "./turn.ts";

type Of<Type extends TurnEvent["type"]> = Extract<TurnEvent, { type: Type }>;

const TurnProgressEvent = builder.interfaceRef<TurnEvent>("TurnProgressEvent").implement({
  description: "Fields every turn event has.",
  fields: (t) => ({
    turnId: t.exposeID("turnId"),
    sequence: t.exposeInt("sequence", { description: "1, 2, 3 … within the turn, without gaps." }),
    at: t.expose("at", { type: "DateTime" }),
  }),
});

function eventType<Type extends TurnEvent["type"]>(name: Type, description: string) {
  return builder.objectRef<Of<Type>>(name).implement({ description, interfaces: [TurnProgressEvent], isTypeOf: (value) => (value as TurnEvent).type === name });
}

const TurnStarted = eventType("TurnStarted", "The turn started with this mode and roster snapshot.");
builder.objectFields(TurnStarted, (t) => ({
  mode: t.field({ type: TurnModeEnum, resolve: (event) => event.mode as never }),
  roster: t.field({ type: [RosterEntryRef], resolve: (event) => event.roster }),
}));
const StepStarted = eventType("StepStarted", "A step began.");
builder.objectFields(StepStarted, (t) => ({
  stepId: t.exposeID("stepId"),
  stepSeq: t.exposeInt("stepSeq"),
  kind: t.field({ type: StepKindEnum, resolve: (event) => event.kind as never }),
  agentKey: t.exposeString("agentKey", { nullable: true }),
  modelAlias: t.exposeString("modelAlias"),
}));
const StepDelta = eventType("StepDelta", "A chunk of a step's output as it streams in.");
builder.objectFields(StepDelta, (t) => ({
  stepId: t.exposeID("stepId"),
  delta: t.exposeString("delta"),
}));
const StepCompleted = eventType("StepCompleted", "A step ended (completed or failed).");
builder.objectFields(StepCompleted, (t) => ({
  stepId: t.exposeID("stepId"),
  status: t.field({ type: StepStatusEnum, resolve: (event) => event.status as never }),
  output: t.exposeString("output", { nullable: true }),
  error: t.exposeString("error", { nullable: true }),
}));
const TurnCompleted = eventType("TurnCompleted", "The turn ended COMPLETED or PARTIAL.");
builder.objectFields(TurnCompleted, (t) => ({
  status: t.field({ type: TurnStatusEnum, resolve: (event) => event.status as never }),
}));
const TurnFailed = eventType("TurnFailed", "The turn ended FAILED.");
builder.objectFields(TurnFailed, (t) => ({ error: t.exposeString("error") }));

const TurnEventUnion = builder.unionType("TurnEvent", {
  types: [TurnStarted, StepStarted, StepDelta, StepCompleted, TurnCompleted, TurnFailed],
  resolveType: (event) => event.type,
});

builder.subscriptionType({});

builder.subscriptionField("turnEvents", (t) =>
  t.field({
    type: TurnEventUnion,
    description: "The turn's events: first those after afterSequence that already happened, then live ones until the turn ends.",
    authScopes: { authenticated: true },
    directives: requiresReady,
    args: {
      turnId: t.arg.id({ required: true }),
      afterSequence: t.arg.int({ defaultValue: 0 }),
    },
    subscribe: (_root, args, context) => subscribeTurnEvents(String(args.turnId), args.afterSequence ?? 0, context),
    resolve: (event) => event,
  }),
);
