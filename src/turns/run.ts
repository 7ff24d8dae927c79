// The state of one executing turn, shared by its steps.
import type pg from "pg";
import type { AppConfig } from "../config/env.ts";
import type { Db } from "../db.ts";
import type { HotStatements } from "../db/statements.ts";
import type { TurnMode } from "../generated/prisma/enums.ts";
import type { LlmGateway } from "../llm/gateway.ts";
import type { ModelAliasName } from "../llm/models.ts";
import type { HistoryMessage, HistoryTurn } from "../context-budget/assembly.ts";
import type { CallScope } from "../metering/ledger.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import type { TurnEventBus, TurnEventPayload } from "./events.ts";
import type { StartedStep } from "./steps.ts";
import type { RosterEntry } from "./roster.ts";

export interface TurnEngineServices {
  prisma: Db;
  /** The same database through plain pg: the per-step writes are single statements, sent without ORM overhead. */
  pool: pg.Pool;
  statements: HotStatements;
  gateway: LlmGateway;
  bus: TurnEventBus;
  config: AppConfig;
}

/** The session history a turn's context is built from, read when the turn is accepted. */
export interface SessionHistory {
  summaryBlock: string | null;
  throughTurnSeq: number;
  turns: HistoryTurn[];
}

/**
 * A finished step's write (result, ledger row, audit, message), held only
 * until the turn's next write a moment later, so both commit in one statement
 * instead of two round trips. Nothing awaits I/O in between: the next step's
 * start or the turn's end always follows at once (see steps.ts, runner.ts).
 */
export interface PendingFinish {
  stepId: string;
  ctes: Prisma.Sql[];
  /** The StepCompleted event, emitted once the write has committed. */
  event: TurnEventPayload;
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
  /** The first step, already inserted with the turn at accept; its StepStarted is emitted when the runner reaches it. */
  acceptedStep: StartedStep | null;
  pendingFinish: PendingFinish | null;
}
