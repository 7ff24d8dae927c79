// previewRouting: the RoutingDecision union clients use to show who will answer.
import { builder } from "../builder.ts";
import { InsufficientCreditsError, NotFoundError, NotReadyError, RateLimitedError, RoomBudgetExceededError, ValidationError } from "../errors.ts";
import { previewRouting, type RoutingDecision } from "../resolvers/previewRouting.ts";
import { requiresReady } from "./readinessDirective.ts";
import { RosterEntryRef, TurnModeEnum } from "./turn.ts";
import { roundDecisionOfStep, routingOfStep, type RoundDecisionView } from "../resolvers/stepRouting.ts";
import { parseRosterSnapshot } from "../turns/roster.ts";

type Route = Extract<RoutingDecision, { kind: "route" }>;
type Rejected = Extract<RoutingDecision, { kind: "rejected" }>;
type RequiresManager = Extract<RoutingDecision, { kind: "requiresManager" }>;

const RoutedStep = builder.objectRef<Route["steps"][number]>("RoutedStep").implement({
  fields: (t) => ({
    agent: t.field({ type: RosterEntryRef, resolve: (step) => step.agent }),
    instruction: t.exposeString("instruction", { nullable: true, description: "The manager's instruction (orchestrator only)." }),
  }),
});

const RouteToAgents = builder.objectRef<Route>("RouteToAgents").implement({
  description: "These agents would answer, in this order.",
  fields: (t) => ({
    mode: t.field({ type: TurnModeEnum, resolve: (decision) => decision.mode as never }),
    steps: t.field({ type: [RoutedStep], resolve: (decision) => decision.steps }),
    metered: t.exposeBoolean("metered", { description: "True when a manager model was called (and billed) to decide." }),
    rationale: t.exposeString("rationale", { nullable: true }),
  }),
});

const RoutingRejectionReason = builder.enumType("RoutingRejectionReason", {
  values: ["NO_VALID_TAGS", "NO_AGENTS", "INVALID_MANAGER_OUTPUT", "PROVIDER_FAILED"] as const,
});

const RoutingRejected = builder.objectRef<Rejected>("RoutingRejected").implement({
  description: "No agent would answer; the issues say why.",
  fields: (t) => ({
    mode: t.field({ type: TurnModeEnum, resolve: (decision) => decision.mode as never }),
    reason: t.field({ type: RoutingRejectionReason, resolve: (decision) => decision.reason }),
    issues: t.exposeStringList("issues"),
  }),
});

const RoutingRequiresManager = builder.objectRef<RequiresManager>("RoutingRequiresManager").implement({
  description: "Orchestrator mode: the manager decides at send time. Ask again with runManager: true for a (metered) decision.",
  fields: (t) => ({
    mode: t.field({ type: TurnModeEnum, resolve: (decision) => decision.mode as never }),
    candidates: t.field({ type: [RosterEntryRef], resolve: (decision) => decision.candidates }),
  }),
});

const RoutingDecisionUnion = builder.unionType("RoutingDecision", {
  types: [RouteToAgents, RoutingRejected, RoutingRequiresManager],
  resolveType: (decision) => ({ route: "RouteToAgents", rejected: "RoutingRejected", requiresManager: "RoutingRequiresManager" })[decision.kind],
});

builder.prismaObjectField("TurnStep", "routing", (t) =>
  t.field({
    type: RoutingDecisionUnion,
    nullable: true,
    description: "Manager routing steps: the agents the manager chose (RouteToAgents) or why it chose none (RoutingRejected). Null for other steps.",
    select: { kind: true, routingDecision: true, turn: { select: { rosterSnapshot: true } } },
    resolve: (step) => routingOfStep(step.kind, step.routingDecision, parseRosterSnapshot(step.turn.rosterSnapshot)),
  }),
);

type Continue = Extract<RoundDecisionView, { kind: "continue" }>;

const ContinueRounds = builder.objectRef<Continue>("ContinueRounds").implement({
  description: "After a round, the manager continued with these agents, in this order.",
  fields: (t) => ({
    steps: t.field({ type: [RoutedStep], resolve: (decision) => decision.steps }),
    rationale: t.exposeString("rationale"),
  }),
});

const StopRounds = builder.objectRef<Extract<RoundDecisionView, { kind: "stop" }>>("StopRounds").implement({
  description: "After a round, the manager stopped: the synthesis followed.",
  fields: (t) => ({ rationale: t.exposeString("rationale") }),
});

const RoundDecisionRejected = builder.objectRef<Extract<RoundDecisionView, { kind: "rejected" }>>("RoundDecisionRejected").implement({
  description: "The manager's answer was not a valid decision (or the call failed): the rounds stopped, nothing was guessed.",
  fields: (t) => ({ issues: t.exposeStringList("issues") }),
});

const RoundDecisionUnion = builder.unionType("RoundDecision", {
  types: [ContinueRounds, StopRounds, RoundDecisionRejected],
  resolveType: (decision) => ({ continue: "ContinueRounds", stop: "StopRounds", rejected: "RoundDecisionRejected" })[decision.kind],
});

builder.prismaObjectField("TurnStep", "roundDecision", (t) =>
  t.field({
    type: RoundDecisionUnion,
    nullable: true,
    description: "MANAGER_CONTINUE steps (orchestrator, after a round): continue with which agents, stop, or why the answer was rejected. Null for other steps.",
    select: { kind: true, routingDecision: true, turn: { select: { rosterSnapshot: true } } },
    resolve: (step) => roundDecisionOfStep(step.kind, step.routingDecision, parseRosterSnapshot(step.turn.rosterSnapshot)),
  }),
);

const PreviewRoutingInput = builder.inputType("PreviewRoutingInput", {
  fields: (t) => ({
    sessionId: t.id({ required: true }),
    content: t.string({ required: true }),
    runManager: t.boolean({ defaultValue: false, description: "Orchestrator only: call the manager model now (a metered LLM call)." }),
  }),
});

builder.queryField("previewRouting", (t) =>
  t.field({
    type: RoutingDecisionUnion,
    description:
      "Which agents would answer this message, in order, without sending it. With runManager in orchestrator mode, the manager is asked: one metered call, counted in the per-user rate limit like a sent message, at most one per HTTP request.",
    authScopes: { authenticated: true },
    directives: requiresReady,
    errors: {
      types: [ValidationError, NotFoundError, NotReadyError, RateLimitedError, InsufficientCreditsError, RoomBudgetExceededError],
      result: { name: "PreviewRoutingSuccess" },
      union: { name: "PreviewRoutingResult" },
      dataField: { name: "decision" },
    },
    args: { input: t.arg({ type: PreviewRoutingInput, required: true }) },
    resolve: (_root, { input }, context) => previewRouting(input, context),
  }),
);
