// The turn engine as a runtime service: accepts messages, runs turns in the
// background (never tied to the sending request), and carries their events.
import type pg from "pg";
import type { AppConfig } from "../config/env.ts";
import type { Context } from "../context.ts";
import type { Db } from "../db.ts";
import type { HotStatements } from "../db/statements.ts";
import type { Turn } from "../generated/prisma/client.ts";
import type { LlmGateway } from "../llm/gateway.ts";
import { DEFAULT_MANAGER_MODEL } from "../llm/models.ts";
import { readManagerModel } from "../settings/managerModel.ts";
import { acceptMessage, type AcceptedTurn } from "./accept.ts";
import { TurnEventBus } from "./events.ts";
import { runTurn } from "./runner.ts";
import type { TurnRun } from "./run.ts";

export interface TurnServiceDeps {
  prisma: Db;
  pool: pg.Pool;
  statements: HotStatements;
  gateway: LlmGateway;
  config: AppConfig;
}

export class TurnService {
  readonly bus = new TurnEventBus();
  private readonly active = new Set<Promise<void>>();

  constructor(readonly deps: TurnServiceDeps) {}

  get gateway(): LlmGateway {
    return this.deps.gateway;
  }

  /** Accepts the message and starts the turn; resolves with the turn as accepted (running). */
  async send(input: { sessionId: string | number; content: string }, context: Context): Promise<Turn> {
    const accepted = await acceptMessage(input, context);
    // Open the log before returning, so a subscriber arriving right after the mutation misses nothing.
    this.bus.open(accepted.turnId, context.viewer!.id);
    const running = this.execute(accepted, context.viewer!.id)
      .catch((error: unknown) => console.error(`turn ${accepted.turnId} could not be finished:`, error))
      .finally(() => this.active.delete(running));
    this.active.add(running);
    return accepted.row;
  }

  /** Waits for running turns (graceful shutdown, tests). */
  async drain(): Promise<void> {
    while (this.active.size > 0) await Promise.allSettled([...this.active]);
  }

  private async execute(accepted: AcceptedTurn, userId: string): Promise<void> {
    let run: TurnRun;
    try {
      run = await this.prepare(accepted, userId);
    } catch (error) {
      console.error(`turn ${accepted.turnId} could not start:`, error);
      const message = "The turn could not start (manager model setting unreadable or database unavailable).";
      await this.deps.prisma.turn.update({ where: { id: accepted.turnId }, data: { status: "failed", error: message, completedAt: new Date() }, select: { id: true } });
      this.bus.emit(accepted.turnId, { type: "TurnFailed", error: message });
      return;
    }
    await runTurn(run);
  }

  private async prepare(accepted: AcceptedTurn, userId: string): Promise<TurnRun> {
    const { scope } = accepted;
    return {
      services: { prisma: this.deps.prisma, pool: this.deps.pool, statements: this.deps.statements, gateway: this.deps.gateway, bus: this.bus, config: this.deps.config },
      turnId: accepted.turnId,
      userId,
      scope: scope.room ? { kind: "room", roomId: scope.room.id, sessionId: scope.sessionId } : { kind: "direct", sessionId: scope.sessionId },
      mode: scope.mode,
      roster: scope.roster,
      userContent: accepted.content,
      room: scope.room ? { name: scope.room.name, goal: scope.room.goal } : null,
      managerAlias: scope.mode === "orchestrator" ? await readManagerModel(this.deps.pool) : DEFAULT_MANAGER_MODEL,
      nextStepSeq: accepted.firstStep ? 2 : 1,
      outputs: [],
      history: accepted.history,
      acceptedStep: accepted.firstStep,
      pendingFinish: null,
    };
  }
}
