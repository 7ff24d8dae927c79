// Accepting a message: validate, read, resolve the mode (a pending mode is
// promoted here) and who answers, check rate limit and context budget, then
// insert the turn with its roster snapshot and the user's message, and hold
// its first call's bound (SPEC 14), in one statement that passes the
// per-user gate first (acceptSql.ts). Rejections write nothing. Execution
// starts after the commit. Plain pg, two round trips: this is the hot path
// of every send.
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { z } from "zod";
import type { AppConfig } from "../config/env.ts";
import type { Readiness } from "../gates/readiness.ts";
import type { Turn } from "../generated/prisma/client.ts";
import { ConflictError, NoValidTagsError, NotFoundError, ValidationError } from "../errors.ts";
import { decodeId, parseInput, STORABLE_MESSAGE } from "../validation/input.ts";
import { assertModeAvailable } from "../gates/modeGate.ts";
import { budgetFor } from "../context-budget/budget.ts";
import { estimatePinned } from "../context-budget/assembly.ts";
import { budgetExceeded } from "../context-budget/overflow.ts";
import { acceptRead, FIRST_CALL_UNHELD, insertTurnStatement, userGate, type AcceptReadRow, type InsertedTurn } from "./acceptSql.ts";
import { endLapsedTurn } from "./leaseSql.ts";
import type { TurnOwner } from "./stepSql.ts";
import type { StartedStep } from "./run.ts";
import { sessionHistory } from "./history.ts";
import { sessionScopeOf } from "./sessionScopeSql.ts";
import { assertWithinRateLimit } from "./rateLimit.ts";
import { planAgents, type SessionScope } from "./planning.ts";
import type { RosterEntry } from "./roster.ts";
import type { SessionHistory } from "./run.ts";
import type { HotStatements } from "../db/statements.ts";
import { isStorableText } from "../db/storableText.ts";
import { DEFAULT_MANAGER_MODEL, type ModelAliasName } from "../llm/models.ts";
import { readManagerModel } from "../settings/managerModel.ts";
import { parseEnforcementOverride } from "../credits/enforcement.ts";
import { CallFunding } from "../credits/callFunding.ts";
import { holdRow, type HoldRow, type HoldScope } from "../credits/callHolds.ts";
import type { OutputLimits } from "../metering/callKinds.ts";
import type { CreditUnits } from "../metering/creditUnits.ts";
import { queryOne, queryRows, type Sql } from "../db/sql.ts";
import { agentSources, firstCallOf, NO_HISTORY } from "./requests.ts";

export const MAX_MESSAGE_CHARS = 32_000;
const UNIQUE_VIOLATION = "23505";

const sendMessageInput = z.object({
  content: z.string().trim().min(1, "must not be empty").max(MAX_MESSAGE_CHARS, `must be at most ${MAX_MESSAGE_CHARS} characters`).refine(isStorableText, STORABLE_MESSAGE),
});

/** What accepting a message needs of the runtime. */
export interface AcceptDeps {
  pool: pg.Pool;
  statements: HotStatements;
  config: Pick<AppConfig, "rateLimit" | "contextMaxOutputTokens" | "credits">;
  outputLimits: OutputLimits;
  readiness: Pick<Readiness, "gate">;
  owner: TurnOwner;
}

export interface AcceptedTurn {
  turnId: string;
  seq: number;
  content: string;
  scope: SessionScope;
  history: SessionHistory;
  /** The first agent's step, started with the turn when the mode names it at accept (not orchestrator). */
  firstStep: StartedStep | null;
  /** The turn row as committed (status running). */
  row: Turn;
  /** When it was accepted: the time of its first kept events. */
  acceptedAt: Date;
  /** The orchestrator's manager model as read at accept (the first call's hold was computed with it). */
  managerAlias: ModelAliasName;
  /** Whose credits the turn's calls hold, or null when CREDIT_ENFORCEMENT is off (as in force at accept). */
  holdScope: HoldScope | null;
  /** Held at accept for the turn's first call. */
  heldAtAccept: CreditUnits;
}

/** Nothing a turn needs can be dropped: system layers, room frame and the message must fit every agent's budget. */
export function assertFitsBudget(scope: SessionScope, agents: RosterEntry[], content: string, maxOutputTokens: number): void {
  for (const agent of agents) {
    const limits = budgetFor(agent.modelAlias, maxOutputTokens);
    const pinned = estimatePinned(agentSources(agent, { mode: scope.mode, room: scope.room, history: NO_HISTORY, content }));
    if (limits.inputBudget <= 0 || pinned > limits.inputBudget) throw budgetExceeded(agent.modelAlias, limits.inputBudget, pinned);
  }
}

interface TurnToInsert {
  turnId: string;
  scope: SessionScope;
  userId: string;
  content: string;
  /** The first agent, when the mode names it at accept (its step starts with the turn). */
  firstAgent: RosterEntry | null;
  /** The hold of the turn's first call, placed by the same statement. */
  hold: Sql | null;
}

interface Inserted {
  /** Null when the gate refused or the session was gone (inserted.gate and session_live say which). */
  row: Turn | null;
  inserted: InsertedTurn;
  firstStep: StartedStep | null;
  acceptedAt: Date;
}

async function insertTurn(deps: AcceptDeps, { turnId: id, scope, userId, content, firstAgent, hold }: TurnToInsert): Promise<Inserted | { unheld: HoldRow }> {
  const { pool, statements, owner, config } = deps;
  const acceptedAt = new Date();
  const firstStep = firstAgent && { id: randomUUID(), agent: firstAgent, modelAlias: firstAgent.modelAlias };
  const statement = insertTurnStatement(
    {
      id,
      sessionId: scope.sessionId,
      userId,
      mode: scope.mode,
      roster: scope.roster,
      content,
      promotedRoomId: scope.room?.pendingMode ? scope.room.id : null,
      owner,
      acceptedAt,
      gate: userGate(userId, config.rateLimit),
    },
    firstStep && {
      id: firstStep.id,
      turnId: id,
      seq: 1,
      kind: "agent",
      agentId: firstStep.agent.agentId,
      agentKey: firstStep.agent.agentKey,
      modelAlias: firstStep.modelAlias,
      allowedTools: firstStep.agent.toolPermissions,
      round: 1,
    },
    hold,
  );
  let inserted: InsertedTurn | undefined;
  try {
    inserted = await queryOne<InsertedTurn>(pool, statement, statements);
  } catch (error) {
    if ((error as { code?: string }).code !== FIRST_CALL_UNHELD) throw error;
    // Refused by its hold: nothing was written; the outcome comes back as the error's detail.
    return { unheld: holdRow.parse(JSON.parse((error as { detail?: string }).detail ?? "null")) };
  }
  if (!inserted) throw new Error("the turn's insert returned no row");
  if (inserted.seq === null) return { row: null, inserted, firstStep, acceptedAt };
  const turn: Turn = {
    id,
    sessionId: scope.sessionId,
    userId,
    seq: inserted.seq,
    status: "running",
    mode: scope.mode,
    rosterSnapshot: scope.roster,
    userContent: content,
    error: null,
    startedAt: inserted.started_at!,
    completedAt: null,
    createdAt: inserted.created_at!,
    updatedAt: inserted.updated_at!,
    ownerInstance: owner.instanceId,
    cancelRequestedAt: null,
    leaseExpiresAt: inserted.lease_expires_at!,
    stopReason: null,
  };
  return { row: turn, inserted, firstStep, acceptedAt };
}

/** One read, checks, then one write that passes the rate-limit gate, checks again under its locks and holds the first call. Rejections write nothing. */
async function accept(sessionId: string, userId: string, content: string, deps: AcceptDeps): Promise<AcceptedTurn> {
  const { config, statements, pool } = deps;
  const read = (await queryOne<AcceptReadRow>(pool, acceptRead(userId, sessionId), statements))!;
  const scope = sessionScopeOf(read, sessionId);
  if (!scope) throw new NotFoundError("Session");
  if (scope.mode === "orchestrator") assertModeAvailable(scope.mode, deps.readiness);
  const plan = planAgents(scope.mode, scope.roster, content);
  if (plan.kind === "noValidTags") throw new NoValidTagsError(plan.availableAgentKeys);
  if (plan.kind === "noAgents") throw new ValidationError([{ path: ["sessionId"], message: "The room has no agents; assign one first." }]);
  assertFitsBudget(scope, plan.kind === "agents" ? plan.agents : scope.roster, content, config.contextMaxOutputTokens);
  if (read.running_turn && !read.running_turn.stale) throw runningTurnConflict();
  // Its owner is gone: ending it is what the lease sweep would do, whatever this send's outcome.
  if (read.running_turn) await queryRows(pool, endLapsedTurn(read.running_turn.id));
  const managerAlias = plan.kind === "manager" ? await readManagerModel(pool) : DEFAULT_MANAGER_MODEL;
  const turnId = randomUUID();
  const history = sessionHistory(read.summary, read.history ?? []);
  const enforcement = parseEnforcementOverride(read.credit_enforcement) ?? config.credits.enforcement;
  const holdScope: HoldScope | null =
    enforcement === "off" ? null : { userId, turnId, ofTurn: true, roomId: scope.room?.id ?? null, defaultPlan: config.credits.defaultPlan, enforce: enforcement === "enforce" };
  // The first call's bound is held by the statement that inserts the turn; a refused hold inserts nothing.
  const funding = new CallFunding({ db: pool, prepared: statements, limits: deps.outputLimits }, holdScope);
  const firstCall = holdScope && firstCallOf({ scope, agents: plan.kind === "agents" ? plan.agents : null, managerAlias, history, content, limits: deps.outputLimits });
  const hold = firstCall ? funding.holdAhead(firstCall) : null;
  const result = await insertTurn(deps, { turnId, scope, userId, content, firstAgent: plan.kind === "agents" ? plan.agents[0]! : null, hold: hold?.statement ?? null });
  if ("unheld" in result) {
    hold?.record(result.unheld);
    throw funding.refusal()?.toRefusal() ?? new Error("a hold refused by the database, not by its funding");
  }
  const { row, inserted, firstStep, acceptedAt } = result;
  if (!row) {
    // The gate counts the windows after the lock: a suspended account or a full window.
    assertWithinRateLimit(inserted.gate, config.rateLimit);
    if (!inserted.gate.allowed) throw new Error("the accept gate refused a send its windows allow");
    if (!inserted.session_live) throw new NotFoundError("Session");
    throw new Error("the turn was not inserted, yet every check passed");
  }
  hold?.record(inserted.hold ?? undefined);
  const heldAtAccept = funding.held();
  return { turnId: row.id, seq: row.seq, content, scope, history, firstStep, row, acceptedAt, managerAlias, holdScope, heldAtAccept };
}

function runningTurnConflict(): ConflictError {
  return new ConflictError("A turn is already running in this session; wait for it to finish.");
}

export async function acceptMessage(deps: AcceptDeps, userId: string, input: { sessionId: string | number; content: string }): Promise<AcceptedTurn> {
  const { content } = parseInput(sendMessageInput, { content: input.content });
  const sessionId = decodeId(input.sessionId, "Session");
  try {
    return await accept(sessionId, userId, content, deps);
  } catch (error) {
    // Two first turns racing past the read: the running-turn index decides.
    if ((error as { code?: string }).code === UNIQUE_VIOLATION) throw runningTurnConflict();
    throw error;
  }
}
