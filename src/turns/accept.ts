// Accepting a message: validate, resolve the mode (a pending mode is promoted
// here) and who answers, check rate limit and context budget, then insert the
// turn with its roster snapshot and the user's message in one transaction.
// Rejections write nothing. Execution starts after the commit.
import { z } from "zod";
import type { Context } from "../context.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import { ConflictError, NoValidTagsError, NotFoundError, ValidationError } from "../errors.ts";
import { decodeId, isUniqueViolation, parseInput } from "../resolvers/input.ts";
import { assertModeAvailable } from "../resolvers/modeGate.ts";
import { viewerId } from "../resolvers/viewer.ts";
import { budgetFor } from "../context-budget/budget.ts";
import { estimatePinned } from "../context-budget/assembly.ts";
import { budgetExceeded } from "../context-budget/overflow.ts";
import { enforceRateLimit } from "./rateLimit.ts";
import { loadSessionScope, planAgents, type SessionScope } from "./planning.ts";
import { agentLayers, roomFrame } from "./prompts.ts";
import type { RosterEntry } from "./roster.ts";

export const MAX_MESSAGE_CHARS = 32_000;
/** A running turn that has not advanced for this long was interrupted (server stopped); it no longer blocks its session. */
const STALE_TURN_SECONDS = 15 * 60;

const sendMessageInput = z.object({
  content: z.string().trim().min(1, "must not be empty").max(MAX_MESSAGE_CHARS, `must be at most ${MAX_MESSAGE_CHARS} characters`),
});

export interface AcceptedTurn {
  turnId: string;
  scope: SessionScope;
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

async function insertTurn(tx: Prisma.TransactionClient, scope: SessionScope, userId: string, content: string): Promise<string> {
  await tx.$executeRaw`
    UPDATE turns SET status = 'failed', error = 'Interrupted: the server stopped while this turn ran.', completed_at = now(), updated_at = now()
     WHERE session_id = ${scope.sessionId}::uuid AND status = 'running' AND updated_at < now() - make_interval(secs => ${STALE_TURN_SECONDS}::float8)`;
  if (scope.room?.pendingMode) {
    await tx.room.update({ where: { id: scope.room.id }, data: { currentMode: scope.room.pendingMode, pendingMode: null }, select: { id: true } });
  }
  const last = await tx.turn.findFirst({ where: { sessionId: scope.sessionId }, orderBy: { seq: "desc" }, select: { seq: true } });
  const turn = await tx.turn.create({
    data: { sessionId: scope.sessionId, userId, seq: (last?.seq ?? 0) + 1, mode: scope.mode, rosterSnapshot: scope.roster, userContent: content },
    select: { id: true },
  });
  await tx.message.create({ data: { sessionId: scope.sessionId, turnId: turn.id, role: "user", content }, select: { id: true } });
  return turn.id;
}

export async function acceptMessage(input: { sessionId: string | number; content: string }, context: Context): Promise<AcceptedTurn> {
  const { content } = parseInput(sendMessageInput, { content: input.content });
  const sessionId = decodeId(input.sessionId, "Session");
  const userId = viewerId(context);
  try {
    return await context.prisma.$transaction(async (tx) => {
      await enforceRateLimit(tx, userId, context.config.rateLimit);
      // Lock the session row: concurrent sends in one session serialize here, and the running-turn index decides.
      const locked = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM sessions WHERE id = ${sessionId}::uuid AND owner_id = ${userId}::uuid FOR UPDATE`;
      const scope = locked.length ? await loadSessionScope(tx, userId, sessionId) : null;
      if (!scope) throw new NotFoundError("Session");
      if (scope.mode === "orchestrator") assertModeAvailable("orchestrator", context);
      const plan = planAgents(scope.mode, scope.roster, content);
      if (plan.kind === "noValidTags") throw new NoValidTagsError(plan.availableAgentKeys);
      if (plan.kind === "noAgents") throw new ValidationError([{ path: ["sessionId"], message: "The room has no agents; assign one first." }]);
      assertFitsBudget(scope, plan.kind === "agents" ? plan.agents : scope.roster, content, context.config.contextMaxOutputTokens);
      return { turnId: await insertTurn(tx, scope, userId, content), scope };
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new ConflictError("A turn is already running in this session; wait for it to finish.");
    throw error;
  }
}
