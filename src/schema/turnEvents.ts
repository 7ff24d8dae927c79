// turnEvents: a turn's progress over SSE. Every event carries the turn's
// sequence number; pass the last one seen as afterSequence to resume.
import { builder } from "../builder.ts";
import type { TurnEvent } from "../turns/events.ts";
import type { UsageSums } from "../metering/usageSums.ts";
import type { Context } from "../context.ts";
import { creditsAvailableAfterTurn, stepAgentKey, subscribeTurnEvents, turnStopReason } from "../resolvers/turnEvents.ts";
import { requiresReady } from "./readinessDirective.ts";
import { RosterEntryRef, StepKindEnum, StepStatusEnum, TurnModeEnum, TurnStatusEnum, TurnStopReasonEnum } from "./turn.ts";

type Of<Type extends TurnEvent["type"]> = Extract<TurnEvent, { type: Type }>;

const TurnProgressEvent = builder.interfaceRef<TurnEvent>("TurnProgressEvent").implement({
  description: "Fields every turn event has.",
  fields: (t) => ({
    turnId: t.exposeID("turnId"),
    sequence: t.exposeInt("sequence", {
      description:
        "Increasing within the turn, and the same live, after a restart and on any server instance. Every event but StepDelta is kept: their numbers are multiples of 100000, and a stream resumed with afterSequence replays them. StepDelta events take the numbers between two kept events and are sent live only (their text is in the step's StepCompleted.output).",
    }),
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
const EventUsage = builder.objectRef<UsageSums>("EventUsage").implement({
  description: "What a step (or the whole turn) cost: its committed ledger rows, failed and retried calls included.",
  fields: (t) => ({
    calls: t.exposeInt("calls", { description: "Provider calls metered." }),
    inputTokensFresh: t.exposeFloat("inputTokensFresh", { description: "Integer; a Float because sums can exceed GraphQL's 32-bit Int." }),
    inputTokensCached: t.exposeFloat("inputTokensCached", { description: "Integer; a Float because sums can exceed GraphQL's 32-bit Int." }),
    outputTokens: t.exposeFloat("outputTokens", { description: "Integer; a Float because sums can exceed GraphQL's 32-bit Int." }),
    totalTokens: t.exposeFloat("totalTokens", { description: "Integer; a Float because sums can exceed GraphQL's 32-bit Int." }),
    credits: t.expose("credits", { type: "Decimal", description: "Credits charged." }),
    providerCostUsd: t.expose("providerCostUsd", { type: "Decimal", description: "What the provider reported it charged, in USD." }),
  }),
});

// Fields that differ in type across event types have different names (stepStatus, turnStatus,
// stepError, turnError), so one selection over the union needs no aliases.
const StepCompleted = eventType("StepCompleted", "A step ended (completed or failed), with what it cost.");
builder.objectFields(StepCompleted, (t) => ({
  stepId: t.exposeID("stepId"),
  agentKey: t.string({
    nullable: true,
    description: "The agent whose step this is (as on StepStarted); null for the manager's steps.",
    resolve: (event, _args, context) => (event.agentKey !== undefined ? event.agentKey : stepAgentKey(event.stepId, context)),
  }),
  stepStatus: t.field({ type: StepStatusEnum, resolve: (event) => event.status as never }),
  output: t.exposeString("output", { nullable: true }),
  stepError: t.exposeString("error", { nullable: true, description: "Why the step failed; null when it completed." }),
  usage: t.field({ type: EventUsage, description: "This step's calls: a UI can show each agent's cost as it finishes.", resolve: (event) => event.usage }),
  status: t.field({ type: StepStatusEnum, deprecationReason: "Use stepStatus (status differs in type on TurnCompleted).", resolve: (event) => event.status as never }),
  error: t.exposeString("error", { nullable: true, deprecationReason: "Use stepError (error differs in type on TurnFailed)." }),
}));
/** On both ending events: kept endings carry it (the migration gave older ones theirs); one written by an older instance is read from its turn. */
const stopReason = {
  type: TurnStopReasonEnum,
  description: "Why the turn ended.",
  resolve: (event: { turnId: string; stopReason?: string }, _args: unknown, context: Context) => (event.stopReason ?? turnStopReason(event.turnId, context)) as never,
} as const;

/** On both ending events. */
const creditsAvailableAfter = {
  type: "Decimal",
  nullable: true,
  description:
    "Your wallet's available credits right after the turn ended and its hold was released (as recorded then, the same on every replay); null when the turn placed no hold and made no call (CREDIT_ENFORCEMENT off).",
  // The owner's ending carries it; endings kept by SQL alone (interruptions) and older ones are read back.
  resolve: (event: { turnId: string; creditsAvailableAfter?: string | null }, _args: unknown, context: Context) =>
    event.creditsAvailableAfter !== undefined ? event.creditsAvailableAfter : creditsAvailableAfterTurn(event.turnId, context),
} as const;

const TurnCompleted = eventType("TurnCompleted", "The turn ended COMPLETED or PARTIAL, with what it cost in all.");
builder.objectFields(TurnCompleted, (t) => ({
  turnStatus: t.field({ type: TurnStatusEnum, resolve: (event) => event.status as never }),
  stopReason: t.field(stopReason),
  usage: t.field({ type: EventUsage, description: "The whole turn's calls.", resolve: (event) => event.usage }),
  creditsAvailableAfter: t.field(creditsAvailableAfter),
  status: t.field({ type: TurnStatusEnum, deprecationReason: "Use turnStatus (status differs in type on StepCompleted).", resolve: (event) => event.status as never }),
}));
const TurnFailed = eventType("TurnFailed", "The turn ended FAILED, with what it cost in all.");
builder.objectFields(TurnFailed, (t) => ({
  turnError: t.exposeString("error"),
  stopReason: t.field(stopReason),
  usage: t.field({ type: EventUsage, description: "The whole turn's calls (failed calls are metered too).", resolve: (event) => event.usage }),
  creditsAvailableAfter: t.field(creditsAvailableAfter),
  error: t.exposeString("error", { deprecationReason: "Use turnError (error differs in type on StepCompleted)." }),
}));

const RoundStarted = eventType("RoundStarted", "Orchestrator: a round began (1: the routing and the agents it chose; later ones: the agents the manager chose to continue with).");
builder.objectFields(RoundStarted, (t) => ({
  round: t.exposeInt("round", { description: "From 1." }),
}));
const RoundCompleted = eventType(
  "RoundCompleted",
  "Orchestrator: a round ended, with the manager's decision to continue or stop (if it was asked), and what the turn cost so far.",
);
builder.objectFields(RoundCompleted, (t) => ({
  round: t.exposeInt("round"),
  usage: t.field({ type: EventUsage, description: "The whole turn's calls so far.", resolve: (event) => event.usage }),
}));

const TurnEventUnion = builder.unionType("TurnEvent", {
  types: [TurnStarted, RoundStarted, StepStarted, StepDelta, StepCompleted, RoundCompleted, TurnCompleted, TurnFailed],
  resolveType: (event) => event.type,
});

builder.subscriptionType({});

builder.subscriptionField("turnEvents", (t) =>
  t.field({
    type: TurnEventUnion,
    description:
      "The turn's events, to follow a message sent with sendMessage: first those after afterSequence that already happened, then live ones until the turn ends (TurnCompleted or TurnFailed), then the stream completes. Each event has the turn's sequence number; after a reconnect, pass the last one seen as afterSequence.",
    authScopes: { authenticated: true },
    directives: requiresReady,
    args: {
      turnId: t.arg.id({ required: true }),
      afterSequence: t.arg.int({ defaultValue: 0, description: "The last sequence this client received: the stream sends each later event exactly once (0: from the start)." }),
    },
    subscribe: (_root, args, context) => subscribeTurnEvents(String(args.turnId), args.afterSequence ?? 0, context),
    resolve: (event) => event,
  }),
);
