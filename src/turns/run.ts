// The state of one executing turn, shared by its steps.
import type pg from "pg";
import type { AppConfig } from "../config/env.ts";
import type { Db } from "../db.ts";
import type { HotStatements } from "../db/statements.ts";
import type { TurnMode, TurnStopReason } from "../generated/prisma/enums.ts";
import type { CallFunding } from "../credits/callFunding.ts";
import type { OutputLimits } from "../metering/callKinds.ts";
import type { LlmGateway } from "../llm/gateway.ts";
import type { ModelAliasName } from "../llm/models.ts";
import type { HistoryMessage, HistoryTurn } from "../context-budget/assembly.ts";
import type { CallScope } from "../metering/ledger.ts";
import type { LedgerWriter } from "../metering/ledgerWriter.ts";
import type { UsageSums } from "../metering/usageSums.ts";
import type { EventNumbers, TurnEvent, TurnEventPayload } from "./events.ts";
import type { TurnOwner } from "./stepSql.ts";
import type { RosterEntry } from "./roster.ts";
import type { TurnLimits } from "./turnLimits.ts";

export interface TurnEngineServices {
  prisma: Db;
  /** The same database through plain pg: the per-step writes are single statements, sent without ORM overhead. */
  pool: pg.Pool;
  statements: HotStatements;
  gateway: LlmGateway;
  /** Live delivery of an event (after a kept one has committed); fire-and-forget. */
  publish(turnId: string, sequence: number, payload: TurnEventPayload, at: Date): void;
  config: AppConfig;
  /** Every ledger row goes through it (metering/ledgerWriter.ts). */
  ledger: LedgerWriter;
  /** This instance and its lease length: every write of a running turn is guarded by them. */
  owner: TurnOwner;
  /** CONTEXT_MAX_OUTPUT_TOKENS and MIN_OUTPUT_TOKENS: every call's output cap and floor (metering/callKinds.ts). */
  outputLimits: OutputLimits;
}

/** A step that has started: its row exists and its StepStarted is kept. */
export interface StartedStep {
  id: string;
  agent: RosterEntry | null;
  modelAlias: ModelAliasName;
}

/** The session history a turn's context is built from, read when the turn is accepted. */
export interface SessionHistory {
  summaryBlock: string | null;
  throughTurnSeq: number;
  turns: HistoryTurn[];
}

export interface TurnRun {
  services: TurnEngineServices;
  turnId: string;
  userId: string;
  scope: CallScope;
  mode: TurnMode;
  roster: RosterEntry[];
  userContent: string;
  room: { name: string; goal: string } | null;
  managerAlias: ModelAliasName;
  nextStepSeq: number;
  /** Outputs of this turn so far: later agents see them. */
  outputs: HistoryMessage[];
  history: SessionHistory;
  /** The first step, already inserted with the turn at accept; its StepStarted goes out with TurnStarted (steps.ts publishAccepted). */
  acceptedStep: StartedStep | null;
  /** A step started with the previous step's result (steps.ts finishStep); the runner takes it up next. */
  startedAhead: StartedStep | null;
  /** When the turn was accepted: the time of its first kept events. */
  acceptedAt: Date;
  /** The sequence numbers of this turn's events (events.ts). */
  numbers: EventNumbers;
  /** The kept events this run published, in order: subscribers on this instance catch up from them (runningTurnEvents.ts). */
  kept: TurnEvent[];
  /** What the turn's committed ledger rows add up to, per step and in all: its events carry them. */
  usage: { byStep: Map<string, UsageSums>; total: UsageSums };
  /** Holds each call's bound before it starts (SPEC 14). */
  funding: CallFunding;
  /** The room's limits when the message was accepted (turnLimits.ts). */
  turnLimits: TurnLimits;
  /** The orchestrator round running, from 1; every step records it. */
  round: number;
  /** Set when the turn must stop before its plan is done: BUDGET (a call could not be held), CANCELLED, TIMEOUT (halt.ts). */
  stopped: TurnStopReason | null;
  /** Aborted with CANCELLED or TIMEOUT: the call in flight stops, and no call starts after (halt.ts). */
  control: AbortController;
}
