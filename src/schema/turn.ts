// Turns and their steps as clients read them: status, effective mode, the
// roster snapshot the turn ran with, steps in order, messages and usage totals.
import { builder } from "../builder.ts";
import { requiresReady } from "./readinessDirective.ts";
import { parseRosterSnapshot, type RosterEntry } from "../turns/roster.ts";
import { turnUsageTotals, type UsageTotals } from "../metering/usageTotals.ts";
import { findViewerTurn } from "../resolvers/turnQueries.ts";
import { turnMessages } from "../resolvers/turnMessagesLoader.ts";
import type { TranscriptMessage } from "../resolvers/messageSql.ts";

export const TurnStatusEnum = builder.enumType("TurnStatus", {
  values: { RUNNING: { value: "running" }, COMPLETED: { value: "completed" }, PARTIAL: { value: "partial" }, FAILED: { value: "failed" } } as const,
});
export const TurnModeEnum = builder.enumType("TurnMode", {
  values: { MANUAL: { value: "manual" }, ROUNDTABLE: { value: "roundtable" }, ORCHESTRATOR: { value: "orchestrator" }, DIRECT: { value: "direct" } } as const,
});
export const TurnStopReasonEnum = builder.enumType("TurnStopReason", {
  description: "Why a turn ended (set on every ended turn).",
  values: {
    DONE: { value: "done", description: "Its plan ran to the end; the steps' statuses say how each went." },
    MAX_ROUNDS: { value: "max_rounds", description: "Orchestrator: the room's last round ran (the manager is not asked to continue after it)." },
    MAX_INVOCATIONS: { value: "max_invocations", description: "Orchestrator: the manager's next round would pass the room's limit of agent steps (in all, or of one agent)." },
    BUDGET: { value: "budget", description: "The next call could not be held: not enough credits in the wallet or the room's budget." },
    LOOP: { value: "loop", description: "Orchestrator: the manager repeated a selection with nothing new in between." },
    TIMEOUT: { value: "timeout", description: "The room's wall-clock limit for a turn passed (the call in flight was stopped)." },
    CANCELLED: { value: "cancelled", description: "Its owner stopped it (cancelTurn)." },
    INTERRUPTED: { value: "interrupted", description: "Its server stopped, was shut down, or lost the database before it finished." },
    ERROR: { value: "error", description: "It could not go on: an invalid routing or round decision, or an internal error." },
  } as const,
});
export const StepKindEnum = builder.enumType("StepKind", {
  values: { AGENT: { value: "agent" }, MANAGER_ROUTE: { value: "manager_route" }, MANAGER_SYNTHESIS: { value: "manager_synthesis" }, MANAGER_CONTINUE: { value: "manager_continue" } } as const,
});
export const StepStatusEnum = builder.enumType("StepStatus", {
  values: { RUNNING: { value: "running" }, COMPLETED: { value: "completed" }, FAILED: { value: "failed" } } as const,
});
const MessageRoleEnum = builder.enumType("MessageRole", {
  values: { USER: { value: "user" }, AGENT: { value: "agent" }, SYNTHESIS: { value: "synthesis" }, SUMMARY: { value: "summary" } } as const,
});

export const RosterEntryRef = builder.objectRef<RosterEntry>("RosterEntry").implement({
  description: "An agent as it was when the turn started (later edits do not change it).",
  fields: (t) => ({
    agentId: t.exposeID("agentId"),
    agentKey: t.exposeString("agentKey"),
    name: t.exposeString("name"),
    modelAlias: t.exposeString("modelAlias"),
    position: t.exposeInt("position"),
    toolPermissions: t.exposeStringList("toolPermissions"),
  }),
});

const UsageTotalsRef = builder.objectRef<UsageTotals>("TurnUsageTotals").implement({
  description: "Sums over the turn's ledger rows (every provider call, failed ones included).",
  fields: (t) => ({
    calls: t.exposeInt("calls"),
    inputTokensFresh: t.exposeInt("inputTokensFresh"),
    inputTokensCached: t.exposeInt("inputTokensCached"),
    outputTokens: t.exposeInt("outputTokens"),
    totalTokens: t.exposeInt("totalTokens"),
    credits: t.expose("credits", { type: "Decimal", description: "Credits charged, as everywhere in the API." }),
    creditsBurned: t.expose("credits", { type: "Decimal", deprecationReason: "Use credits (one name for credits everywhere)." }),
    providerCostUsd: t.expose("providerCostUsd", { type: "Decimal" }),
  }),
});

builder.prismaObject("TurnStep", {
  fields: (t) => ({
    id: t.exposeID("id"),
    seq: t.exposeInt("seq"),
    kind: t.expose("kind", { type: StepKindEnum }),
    status: t.expose("status", { type: StepStatusEnum }),
    agentId: t.exposeID("agentId", { nullable: true }),
    agentKey: t.exposeString("agentKey", { nullable: true }),
    modelAlias: t.exposeString("modelAlias"),
    allowedTools: t.exposeStringList("allowedTools", { description: "Tools this agent was permitted to use in this step." }),
    output: t.exposeString("output", { nullable: true }),
    error: t.exposeString("error", { nullable: true }),
    round: t.exposeInt("round", { description: "The orchestrator round the step belongs to, from 1 (1 in other modes)." }),
    routingDecision: t.expose("routingDecision", {
      type: "JSON",
      nullable: true,
      description: "Manager steps: the validated decision or the rejected attempts, as stored.",
      deprecationReason: "Use routing (the typed RoutingDecision).",
    }),
    startedAt: t.expose("startedAt", { type: "DateTime" }),
    completedAt: t.expose("completedAt", { type: "DateTime", nullable: true }),
  }),
});

// A plain object type, not a Prisma one: transcripts are read by hand SQL
// (messageSql.ts) and turns' messages by a loader, and plugin-prisma's
// per-field wrapping cost about a tenth of a transcript page's CPU.
export const MessageRef = builder.objectRef<TranscriptMessage>("Message").implement({
  fields: (t) => ({
    id: t.exposeID("id"),
    role: t.expose("role", { type: MessageRoleEnum }),
    agentKey: t.exposeString("agentKey", { nullable: true }),
    content: t.exposeString("content"),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

export const TurnRef = builder.prismaObject("Turn", {
  fields: (t) => ({
    id: t.exposeID("id"),
    seq: t.exposeInt("seq", { description: "Position of the turn in its session, from 1." }),
    status: t.expose("status", { type: TurnStatusEnum }),
    mode: t.expose("mode", { type: TurnModeEnum, description: "The effective mode the turn ran with." }),
    userContent: t.exposeString("userContent"),
    error: t.exposeString("error", { nullable: true }),
    stopReason: t.expose("stopReason", { type: TurnStopReasonEnum, nullable: true, description: "Why the turn ended; null exactly while it runs." }),
    cancelRequestedAt: t.expose("cancelRequestedAt", { type: "DateTime", nullable: true, description: "When cancelTurn asked it to stop; null if it never did." }),
    startedAt: t.expose("startedAt", { type: "DateTime" }),
    completedAt: t.expose("completedAt", { type: "DateTime", nullable: true }),
    roster: t.field({
      type: [RosterEntryRef],
      select: { rosterSnapshot: true },
      resolve: (turn) => parseRosterSnapshot(turn.rosterSnapshot),
    }),
    steps: t.relation("steps", { query: { orderBy: { seq: "asc" } } }),
    messages: t.field({ type: [MessageRef], description: "The turn's messages, oldest first.", resolve: (turn, _args, context) => turnMessages(turn.id, context) }),
    usageTotals: t.field({
      type: UsageTotalsRef,
      resolve: (turn, _args, context) => turnUsageTotals(context.services.prisma, turn.id),
    }),
  }),
});

builder.queryField("turn", (t) =>
  t.prismaField({
    type: "Turn",
    nullable: true,
    description: "A turn of the viewer's; null when it does not exist or is not the viewer's.",
    authScopes: { authenticated: true },
    directives: requiresReady,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, context) => findViewerTurn(query, String(args.id), context),
  }),
);
