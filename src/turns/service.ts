// The turn engine as a runtime service: accepts messages, runs turns in the
// background (never tied to the sending request), carries their events, and
// keeps the leases of the turns it runs (SPEC 11): renewed while they run,
// and any lapsed lease in the database swept and its turn ended.
import type pg from "pg";
import { setMaxListeners } from "node:events";
import type { AppConfig } from "../config/env.ts";
import type { Readiness } from "../gates/readiness.ts";
import type { Db } from "../db.ts";
import type { HotStatements } from "../db/statements.ts";
import type { Turn } from "../generated/prisma/client.ts";
import { queryRows, type Sql } from "../db/sql.ts";
import type { LlmGateway } from "../llm/gateway.ts";
import type { LedgerWriter } from "../metering/ledgerWriter.ts";
import { acceptMessage, type AcceptedTurn } from "./accept.ts";
import { EventNumbers, type TurnEvent, type TurnEventPayload } from "./events.ts";
import { TurnStreams, publishTurnEvent } from "./eventStream.ts";
import { keepPublished, keptSince } from "./runningTurnEvents.ts";
import { TURN_CONTROL_TOPIC, turnControl, type EventChannel } from "./eventChannel.ts";
import { cancelRequestedAmong, requestCancel, type CancelRequestRow } from "./cancelSql.ts";
import { haltTurn } from "./halt.ts";
import { INTERRUPTED_SHUTDOWN_ERROR, endAllRunningTurns, endLapsedTurn, endLapsedTurns, endOwnTurnsInterrupted, renewLeases, type EndedTurn } from "./leaseSql.ts";
import { NotReadyError } from "../errors.ts";
import { publishEnding, runTurn } from "./runner.ts";
import type { TurnEngineServices, TurnRun } from "./run.ts";
import type { TurnOwner } from "./stepSql.ts";
import type { Metrics } from "../observability/metrics.ts";
import { emptyUsage } from "../metering/usageSums.ts";
import type { OutputLimits } from "../metering/callKinds.ts";
import { CallFunding } from "../credits/callFunding.ts";
import { releaseStaleHolds } from "../credits/callHolds.ts";
import { errorFields, logger } from "../observability/logger.ts";
import { turnSpan } from "../observability/spans.ts";

/** How often an instance reads cancel requests from the database while the live channel is down. */
const CANCEL_POLL_MS = 500;

export interface TurnServiceDeps {
  prisma: Db;
  pool: pg.Pool;
  statements: HotStatements;
  gateway: LlmGateway;
  ledger: LedgerWriter;
  config: AppConfig;
  /** This process's id: the owner named on the turns it runs. */
  instanceId: string;
  /** Where live events travel (in process, or Redis across instances). */
  channel: EventChannel;
  metrics: Metrics;
  /** Gate B: orchestrator turns are refused while the routing gate is closed. */
  readiness: Pick<Readiness, "gate">;
}

export class TurnService {
  readonly owner: TurnOwner;
  private readonly active = new Set<Promise<void>>();
  /** Turns this instance runs: their leases are renewed, and cancelTurn reaches them here. */
  private readonly running = new Map<string, TurnRun>();
  private control: AsyncIterator<unknown> | null = null;
  private timers: NodeJS.Timeout[] = [];
  private accepting = true;
  private readonly closingStreams = new AbortController();
  private readonly services: TurnEngineServices;
  private readonly streams: TurnStreams;
  private readonly outputLimits: OutputLimits;

  constructor(readonly deps: TurnServiceDeps) {
    // Every open stream listens for the shutdown until it ends (eventStream.ts, aborted): any number of them, not a leak.
    setMaxListeners(0, this.closingStreams.signal);
    this.owner = { instanceId: deps.instanceId, leaseMs: deps.config.turnLeaseMs };
    this.outputLimits = { contextMaxOutputTokens: deps.config.contextMaxOutputTokens, minOutputTokens: deps.config.minOutputTokens };
    const publish = (turnId: string, sequence: number, payload: TurnEventPayload, at: Date) => {
      const event = { ...payload, turnId, sequence, at } as TurnEvent;
      const run = this.running.get(turnId);
      if (run) keepPublished(run, event);
      publishTurnEvent(deps.channel.pubsub, event);
    };
    this.streams = new TurnStreams({
      pubsub: deps.channel.pubsub,
      pool: deps.pool,
      statements: deps.statements,
      catchUpHere: (turnId: string, after: number) => {
        const run = this.running.get(turnId);
        return run ? keptSince(run, after) : null;
      },
      endIfLapsed: (id: string) => this.endIfLapsed(id),
      closing: this.closingStreams.signal,
    });
    this.services = { prisma: deps.prisma, pool: deps.pool, statements: deps.statements, gateway: deps.gateway, ledger: deps.ledger, config: deps.config, publish, owner: this.owner, outputLimits: this.outputLimits };
  }

  get gateway(): LlmGateway {
    return this.deps.gateway;
  }

  /** Renews this instance's leases three times per lease, and sweeps lapsed ones twice per lease. */
  start(): void {
    const every = (ms: number, task: () => Promise<unknown>) => {
      const timer = setInterval(() => void task().catch(() => undefined), Math.max(250, ms));
      timer.unref();
      this.timers.push(timer);
    };
    every(this.owner.leaseMs / 3, () => this.renewLeases());
    every(this.owner.leaseMs / 2, () => this.sweepLapsedLeases());
    every(CANCEL_POLL_MS, () => this.pollCancelRequests());
    void this.followControl();
  }

  /** Cancel requests from any instance, live; a turn run elsewhere is ignored here. */
  private async followControl(): Promise<void> {
    const messages = this.deps.channel.pubsub.subscribe(TURN_CONTROL_TOPIC)[Symbol.asyncIterator]();
    this.control = messages;
    try {
      for (;;) {
        const { value, done } = await messages.next();
        if (done) return;
        // From Redis: another instance wrote it, but it is parsed like any input that crosses a boundary.
        const message = turnControl.safeParse(value);
        const run = message.success ? this.running.get(message.data.turnId) : undefined;
        if (run) haltTurn(run, "cancelled");
      }
    } catch (error) {
      // The database poll still reaches turns while no live channel does.
      logger.error({ ...errorFields(error) }, "turn control channel stopped; cancel requests arrive by database poll only");
    }
  }

  /**
   * While the live channel is down (Redis away), cancel requests are read
   * from the database instead, so one reaches its turn within a poll.
   */
  private async pollCancelRequests(): Promise<void> {
    if (this.running.size === 0 || this.deps.channel.connected()) return;
    for (const { id } of await this.query<{ id: string }>(cancelRequestedAmong([...this.running.keys()]))) {
      const run = this.running.get(id);
      if (run) haltTurn(run, "cancelled");
    }
  }

  /**
   * cancelTurn (SPEC 16): asks the user's turn to stop. The request is written
   * on the turn (no step starts after it), then reaches the instance running
   * it: this one directly, another through the live channel, or its database
   * poll when the channel is down. Null when the turn is not the user's;
   * `requested` false when it had already ended (nothing changed).
   */
  async cancel(userId: string, turnId: string): Promise<{ requested: boolean } | null> {
    const row = (await this.query<CancelRequestRow>(requestCancel(userId, turnId)))[0];
    if (!row) return null;
    if (row.requested === 0) return { requested: false };
    const local = this.running.get(turnId);
    if (local) haltTurn(local, "cancelled");
    else this.deps.channel.pubsub.publish(TURN_CONTROL_TOPIC, { type: "cancel", turnId });
    return { requested: true };
  }

  /** Accepts the user's message and starts the turn; resolves with the turn as accepted (running). */
  async send(userId: string, input: { sessionId: string | number; content: string }): Promise<Turn> {
    if (!this.accepting) throw new NotReadyError("shutdown", ["this instance is shutting down"], "This server is shutting down: send the message again; another instance takes it.");
    const { pool, statements, config, readiness } = this.deps;
    const accepted = await acceptMessage({ pool, statements, config, readiness, owner: this.owner, outputLimits: this.outputLimits }, userId, input);
    const run = this.runOf(accepted, userId);
    this.running.set(accepted.turnId, run);
    const started = performance.now();
    const turnFields = { turnId: accepted.turnId, sessionId: accepted.scope.sessionId, userId, mode: accepted.scope.mode };
    logger.info({ ...turnFields, agents: accepted.scope.roster.length }, "turn started");
    // Started inside the request's operation span, so the turn's span (and everything the turn does) joins its trace.
    const running = turnSpan({ turnId: accepted.turnId, mode: accepted.scope.mode }, () => runTurn(run))
      .then((ending) => {
        this.deps.metrics.turns.inc({ mode: accepted.scope.mode, status: ending.status });
        logger.info({ ...turnFields, status: ending.status, stopReason: ending.stopReason, durationMs: Math.round(performance.now() - started), ...(ending.error ? { reason: ending.error } : {}) }, "turn ended");
      })
      .catch((error: unknown) => logger.error({ ...turnFields, ...errorFields(error) }, "turn could not be finished"))
      .finally(() => {
        this.running.delete(accepted.turnId);
        this.active.delete(running);
      });
    this.active.add(running);
    return accepted.row;
  }

  /** Ends the turn if its lease has lapsed (a read or a subscription noticed it), and publishes its ending. */
  async endIfLapsed(turnId: string): Promise<void> {
    this.announce(await this.query<EndedTurn>(endLapsedTurn(turnId)));
  }

  /** The turn's events for one subscriber (eventStream.ts); null when the turn is not the user's. */
  follow(turnId: string, afterSequence: number, userId: string): Promise<AsyncGenerator<TurnEvent> | null> {
    return this.streams.open(turnId, afterSequence, userId);
  }

  /** Shutdown, step 1: new messages are refused here (NotReadyError, gate "shutdown"); other instances take them. */
  stopAccepting(): void {
    this.accepting = false;
  }

  /** Shutdown: running turns get until the deadline to finish; true when they all did. */
  async drainWithin(deadlineMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), deadlineMs)));
    const finished = await Promise.race([this.drain().then(() => true as const), expired]);
    clearTimeout(timer);
    return finished;
  }

  /** Shutdown, past the deadline: this instance's running turns end as interrupted (their calls so far stay metered). */
  async interruptRunning(): Promise<number> {
    const ended = await this.query<EndedTurn>(endOwnTurnsInterrupted([...this.running.keys()], this.owner.instanceId, INTERRUPTED_SHUTDOWN_ERROR));
    for (const turn of ended) publishEnding({ services: this.services, turnId: turn.id }, turn);
    return ended.length;
  }

  /** Shutdown: every event stream served here ends with a message telling its client to resume elsewhere. */
  endStreams(): void {
    this.closingStreams.abort();
  }

  runningCount(): number {
    return this.running.size;
  }

  /** Ends every running turn, leases or not: only for a database no other instance uses (the embedded one), at start. */
  async endAllRunning(): Promise<void> {
    await this.query(endAllRunningTurns());
  }

  /** Waits for running turns (graceful shutdown, tests). */
  async drain(): Promise<void> {
    while (this.active.size > 0) await Promise.allSettled([...this.active]);
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    void this.control?.return?.();
    this.control = null;
  }

  private runOf(accepted: AcceptedTurn, userId: string): TurnRun {
    const { scope } = accepted;
    return {
      services: this.services,
      turnId: accepted.turnId,
      userId,
      scope: scope.room ? { kind: "room", roomId: scope.room.id, sessionId: scope.sessionId } : { kind: "direct", sessionId: scope.sessionId },
      mode: scope.mode,
      roster: scope.roster,
      userContent: accepted.content,
      room: scope.room ? { name: scope.room.name, goal: scope.room.goal } : null,
      managerAlias: accepted.managerAlias,
      nextStepSeq: accepted.firstStep ? 2 : 1,
      outputs: [],
      history: accepted.history,
      acceptedStep: accepted.firstStep,
      startedAhead: null,
      acceptedAt: accepted.acceptedAt,
      // TurnStarted, and the first StepStarted when known, were kept at accept.
      numbers: new EventNumbers(accepted.firstStep ? 2 : 1),
      usage: { byStep: new Map(), total: emptyUsage() },
      kept: [],
      funding: new CallFunding({ db: this.deps.pool, prepared: this.deps.statements, limits: this.outputLimits }, accepted.holdScope, accepted.heldAtAccept),
      turnLimits: scope.turnLimits,
      round: 1,
      stopped: null,
      control: new AbortController(),
    };
  }

  /**
   * Renews the leases of the turns run here. The same statement says which of
   * them their owner asked to cancel: a request that reached this instance
   * neither live nor by the poll (the cancelling instance's channel was down
   * while this one's was up, or no Redis at all) stops its turn within a
   * third of a lease, without a statement of its own.
   */
  private async renewLeases(): Promise<void> {
    if (this.running.size === 0) return;
    for (const { id, cancel_requested } of await this.query<{ id: string; cancel_requested: boolean }>(renewLeases([...this.running.keys()], this.owner.instanceId, this.owner.leaseMs))) {
      const run = this.running.get(id);
      if (run && cancel_requested) haltTurn(run, "cancelled");
    }
  }

  /** Ends turns whose lease lapsed, and releases holds nobody will release any more (a metered preview whose process died). */
  private async sweepLapsedLeases(): Promise<void> {
    this.announce(await this.query<EndedTurn>(endLapsedTurns()));
    await releaseStaleHolds(this.deps.pool);
  }

  /** Turns ended here by the lease rules: their kept endings go out live to subscribers on every instance. */
  private announce(ended: EndedTurn[]): void {
    for (const turn of ended) {
      logger.warn({ turnId: turn.id, status: turn.status }, "turn ended by its lapsed lease");
      publishEnding({ services: this.services, turnId: turn.id }, turn);
    }
  }

  private query<Row extends pg.QueryResultRow>(statement: Sql): Promise<Row[]> {
    return queryRows<Row>(this.deps.pool, statement, this.deps.statements);
  }
}
