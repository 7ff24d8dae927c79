// The viewer's live session with its room (or direct agent) and roster in
// position order, in plain pg and one statement. sendMessage reads it inside
// its accepting read (acceptSql.ts; the turn's insert locks the session);
// previewRouting on its own.
import { queryOne, sql, type Queryable, type Sql } from "../db/sql.ts";
import type { RoomMode } from "../generated/prisma/enums.ts";
import type { SessionScope } from "./planning.ts";
import { snapshotAgent, type AgentRecord } from "./roster.ts";
import { DEFAULT_TURN_LIMITS } from "./turnLimits.ts";

/**
 * The user's session: missing, deleted or foreign sessions (and sessions of
 * deleted rooms or agents) give no row. Its room and agent are read by id
 * (lateral reads, OFFSET 0: never flattened into a join): without fresh
 * statistics the planner otherwise may read every live agent in the database
 * (test/queryGrowth.test.ts). An agent's liveness is checked outside its
 * read: inside, `deleted_at IS NULL` matches the partial index
 * uq_agents_owner_agent_key, which the planner may then scan whole instead
 * of the primary key (it did on small tables).
 */
export function sessionSelect(userId: string, sessionId: string): Sql {
  return sql`
    SELECT s.id, s.room_id, s.agent_id, r.name, r.goal, r.current_mode, r.pending_mode,
           r.max_rounds, r.max_invocations, r.max_per_agent, r.turn_time_limit_seconds
      FROM sessions s
      LEFT JOIN LATERAL (SELECT * FROM rooms r WHERE r.id = s.room_id AND r.deleted_at IS NULL OFFSET 0) r ON true
      LEFT JOIN LATERAL (SELECT d.id, d.deleted_at FROM agents d WHERE d.id = s.agent_id OFFSET 0) d ON d.deleted_at IS NULL
     WHERE s.id = ${sessionId}::uuid AND s.owner_id = ${userId}::uuid AND s.deleted_at IS NULL AND (r.id IS NOT NULL OR d.id IS NOT NULL)`;
}

/** The columns sessionScopeOf reads, for a query whose session row (sessionSelect) is `s`. */
export const SCOPE_COLUMNS = sql`s.id AS session_id, s.room_id, s.agent_id, s.name, s.goal, s.current_mode, s.pending_mode,
  s.max_rounds, s.max_invocations, s.max_per_agent, s.turn_time_limit_seconds`;

/**
 * A room's live agents (`ra`, `a`): its roster rows first, each agent then by
 * its id (a lateral read, OFFSET 0: never flattened into a join), its
 * liveness checked outside that read (as in sessionSelect). Without fresh
 * statistics the planner otherwise may read every live agent in the
 * database for each room (test/queryGrowth.test.ts).
 */
export const ROOM_AGENTS = sql`FROM room_agents ra
  JOIN LATERAL (SELECT * FROM agents a WHERE a.id = ra.agent_id OFFSET 0) a ON a.deleted_at IS NULL`;

const AGENT_JSON = sql`json_build_object('id', a.id, 'agentKey', a.agent_key, 'name', a.name, 'modelAlias', a.model_alias,
  'rolePrompt', a.role_prompt, 'toolPermissions', a.tool_permissions`;

/** Columns of the roster, for a query whose session row is `s` (the room's agents found as ROOM_AGENTS says). */
export const ROSTER_COLUMNS = sql`
  (SELECT coalesce(json_agg(${AGENT_JSON}, 'position', ra.position) ORDER BY ra.position, ra.created_at), '[]')
     ${ROOM_AGENTS} WHERE ra.room_id = s.room_id) AS room_roster,
  (SELECT ${AGENT_JSON}, 'position', 0) FROM agents a WHERE a.id = s.agent_id) AS direct_agent`;

const sessionScope = (userId: string, sessionId: string) =>
  sql`WITH session AS (${sessionSelect(userId, sessionId)}) SELECT ${SCOPE_COLUMNS}, ${ROSTER_COLUMNS} FROM session s`;

type AgentJson = AgentRecord & { position: number };

export interface SessionScopeRow {
  /** Null when the session is not the viewer's live session. */
  session_id: string | null;
  room_id: string | null;
  agent_id: string | null;
  name: string | null;
  goal: string | null;
  current_mode: RoomMode | null;
  pending_mode: RoomMode | null;
  max_rounds: number | null;
  max_invocations: number | null;
  max_per_agent: number | null;
  turn_time_limit_seconds: number | null;
  room_roster: AgentJson[] | null;
  direct_agent: AgentJson | null;
}

export function sessionScopeOf(row: SessionScopeRow | undefined, sessionId: string): SessionScope | null {
  if (!row?.session_id) return null;
  const agents = row.agent_id ? (row.direct_agent ? [row.direct_agent] : []) : (row.room_roster ?? []);
  const roster = agents.map((agent) => snapshotAgent(agent, agent.position));
  if (row.agent_id) return { sessionId, room: null, directAgentId: row.agent_id, mode: "direct", roster, turnLimits: DEFAULT_TURN_LIMITS };
  return {
    sessionId,
    turnLimits: {
      maxRounds: row.max_rounds ?? DEFAULT_TURN_LIMITS.maxRounds,
      maxInvocations: row.max_invocations ?? DEFAULT_TURN_LIMITS.maxInvocations,
      maxPerAgent: row.max_per_agent ?? DEFAULT_TURN_LIMITS.maxPerAgent,
      timeLimitSeconds: row.turn_time_limit_seconds ?? DEFAULT_TURN_LIMITS.timeLimitSeconds,
    },
    room: { id: row.room_id!, name: row.name!, goal: row.goal!, currentMode: row.current_mode!, pendingMode: row.pending_mode },
    directAgentId: null,
    mode: row.pending_mode ?? row.current_mode!,
    roster,
  };
}

/** Null when the session is missing, deleted, or not the viewer's. */
export async function loadSessionScope(db: Queryable, userId: string, sessionId: string): Promise<SessionScope | null> {
  return sessionScopeOf(await queryOne<SessionScopeRow>(db, sessionScope(userId, sessionId)), sessionId);
}
