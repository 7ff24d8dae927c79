// Accepting a message: validate, resolve the mode (a pending mode is promoted
// here) and who answers, check rate limit and context budget, then insert the
// turn with its roster snapshot and the user's message in one transaction.
// Rejections write nothing. Execution starts after the commit. Plain pg: this
// is the hot path of every send.
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { z } from "zod";
import type { Context } from "../context.ts";
import type { Turn } from "../generated/prisma/client.ts";
import { ConflictError, NoValidTagsError, NotFoundError, ValidationError } from "../errors.ts";
import { decodeId, parseInput } from "../resolvers/input.ts";
import { assertModeAvailable } from "../resolvers/modeGate.ts";
import { viewerId } from "../resolvers/viewer.ts";
import { budgetFor } from "../context-budget/budget.ts";
import { estimatePinned } from "../context-budget/assembly.ts";
import { budgetExceeded } from "../context-budget/overflow.ts";
import { enforceRateLimit } from "./rateLimit.ts";
import { planAgents, type SessionScope } from "./planning.ts";
import { agentLayers, roomFrame } from "./prompts.ts";
import type { RosterEntry } from "./roster.ts";
import { loadSessionScope } from "./sessionScopeSql.ts";

export const MAX_MESSAGE_CHARS = 32_000;
/** A running turn that has not advanced for this long was interrupted (server stopped); it no longer blocks its session. */
const STALE_TURN_SECONDS = 15 * 60;
const UNIQUE_VIOLATION = "23505";

const sendMessageInput = z.object({
  content: z.string().trim().min(1, "must not be empty").max(MAX_MESSAGE_CHARS, `must be at most ${MAX_MESSAGE_CHARS} characters`),
});

export interface AcceptedTurn {
  turnId: string;
  seq: number;
  content: string;
  scope: SessionScope;
  /** The turn row as committed (status running). */
  row: Turn;
}

/** Nothing a turn needs can be dropped: system layers, room frame and the message must fit every agent's budget. */
export function assertFitsBudget(scope: SessionScope, agents: RosterEntry[], content: string, maxOutputTokens: number): void {
  for (const agent of agents) {
    const limits = budgetFor(agent.modelAlias, maxOutputTokens);
    const pinned = estimatePinned({
      systemLayers: agentLayers(scope.mode, agent, null),
      roomFrame: roomFrame(scope.room, scope.mode),
      summaryBlock: null,
      history: [],
      unresolvedTurn: [],
      currentMessage: content,
    });
    if (limits.inputBudget <= 0 || pinned > limits.inputBudget) throw budgetExceeded(agent.modelAlias, limits.inputBudget, pinned);
  }
}

const FAIL_STALE_TURN = `
  UPDATE turns SET status = 'failed', error = 'Interrupted: the server stopped while this turn ran.', completed_at = now(), updated_at = now()
   WHERE session_id = $1 AND status = 'running' AND updated_at < now() - make_interval(secs => $2)`;

const PROMOTE_PENDING_MODE = `UPDATE rooms SET current_mode = pending_mode, pending_mode = NULL, updated_at = now() WHERE id = $1 AND pending_mode IS NOT NULL`;

const INSERT_TURN = `
  WITH turn AS (
    INSERT INTO turns (id, session_id, user_id, seq, mode, roster_snapshot, user_content, updated_at)
    VALUES ($1, $2, $3, (SELECT coalesce(max(seq), 0) + 1 FROM turns WHERE session_id = $2), $4::turn_mode, $5::jsonb, $6, now())
    RETURNING seq, started_at, created_at, updated_at),
  message AS (INSERT INTO messages (id, session_id, turn_id, role, content) SELECT $7::uuid, $2, $1, 'user', $6 FROM turn)
  SELECT seq, started_at, created_at, updated_at FROM turn`;

interface InsertedTurn {
  seq: number;
  started_at: Date;
  created_at: Date;
  updated_at: Date;
}

async function insertTurn(client: pg.ClientBase, scope: SessionScope, userId: string, content: string): Promise<Turn> {
  await client.query(FAIL_STALE_TURN, [scope.sessionId, STALE_TURN_SECONDS]);
  if (scope.room?.pendingMode) await client.query(PROMOTE_PENDING_MODE, [scope.room.id]);
  const id = randomUUID();
  const { rows } = await client.query<InsertedTurn>(INSERT_TURN, [id, scope.sessionId, userId, scope.mode, JSON.stringify(scope.roster), content, randomUUID()]);
  const row = rows[0]!;
  return {
    id,
    sessionId: scope.sessionId,
    userId,
    seq: row.seq,
    status: "running",
    mode: scope.mode,
    rosterSnapshot: scope.roster,
    userContent: content,
    error: null,
    startedAt: row.started_at,
    completedAt: null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

async function acceptInTransaction(client: pg.ClientBase, sessionId: string, userId: string, content: string, context: Context): Promise<AcceptedTurn> {
  await enforceRateLimit(client, userId, context.config.rateLimit);
  const scope = await loadSessionScope(client, userId, sessionId, true);
  if (!scope) throw new NotFoundError("Session");
  if (scope.mode === "orchestrator") assertModeAvailable("orchestrator", context);
  const plan = planAgents(scope.mode, scope.roster, content);
  if (plan.kind === "noValidTags") throw new NoValidTagsError(plan.availableAgentKeys);
  if (plan.kind === "noAgents") throw new ValidationError([{ path: ["sessionId"], message: "The room has no agents; assign one first." }]);
  assertFitsBudget(scope, plan.kind === "agents" ? plan.agents : scope.roster, content, context.config.contextMaxOutputTokens);
  const row = await insertTurn(client, scope, userId, content);
  return { turnId: row.id, seq: row.seq, content, scope, row };
}

export async function acceptMessage(input: { sessionId: string | number; content: string }, context: Context): Promise<AcceptedTurn> {
  const { content } = parseInput(sendMessageInput, { content: input.content });
  const sessionId = decodeId(input.sessionId, "Session");
  const userId = viewerId(context);
  const client = await context.turns.deps.pool.connect();
  let broken = false;
  try {
    await client.query("BEGIN");
    const accepted = await acceptInTransaction(client, sessionId, userId, content, context);
    await client.query("COMMIT");
    return accepted;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => (broken = true));
    if ((error as { code?: string }).code === UNIQUE_VIOLATION) throw new ConflictError("A turn is already running in this session; wait for it to finish.");
    throw error;
  } finally {
    // A connection whose rollback failed is discarded, not reused.
    client.release(broken);
  }
}
