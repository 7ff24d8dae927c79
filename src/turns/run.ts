// The state of one executing turn, shared by its steps.
import type pg from "pg";
import type { AppConfig } from "../config/env.ts";
import type { Db } from "../db.ts";
import type { TurnMode } from "../generated/prisma/enums.ts";
import type { LlmGateway } from "../llm/gateway.ts";
import type { ModelAliasName } from "../llm/models.ts";
import type { HistoryMessage, HistoryTurn } from "../context-budget/assembly.ts";
import type { CallScope } from "../metering/ledger.ts";
import type { TurnEventBus } from "./events.ts";
import type { RosterEntry } from "./roster.ts";

export interface TurnEngineServices {
  prisma: Db;
  /** The same database through plain pg: the per-step writes are single statements, sent without ORM overhead. */
  pool: pg.Pool;
  gateway: LlmGateway;
  bus: TurnEventBus;
  config: AppConfig;
}

/** The session history a turn's context is built from, loaded once per turn. */
export interface SessionHistory {
  summaryBlock: string | null;
  throughTurnSeq: number;
  turns: HistoryTurn[];
}

export interface TurnRun {
  services: TurnEngineServices;
  turnId: string;
  turnSeq: number;
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
  history: SessionHistory | null;
}
