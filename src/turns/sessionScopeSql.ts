// The viewer's live session with its room (or direct agent) and roster in
// position order, in plain pg. sendMessage locks the session row inside its
// transaction; previewRouting reads without locking.
import type pg from "pg";
import type { RoomMode } from "../generated/prisma/enums.ts";
import type { SessionScope } from "./planning.ts";
import { snapshotAgent, type RosterEntry } from "./roster.ts";

interface SessionRow {
  room_id: string | null;
  agent_id: string | null;
  name: string | null;
  goal: string | null;
  current_mode: RoomMode | null;
  pending_mode: RoomMode | null;
}

interface AgentRow {
  id: string;
  agent_key: string;
  name: string;
  model_alias: RosterEntry["modelAlias"];
  role_prompt: string;
  tool_permissions: RosterEntry["toolPermissions"];
  position: number;
}

const SESSION = `
  SELECT s.room_id, s.agent_id, r.name, r.goal, r.current_mode, r.pending_mode
    FROM sessions s
    LEFT JOIN rooms r ON r.id = s.room_id AND r.deleted_at IS NULL
    LEFT JOIN agents d ON d.id = s.agent_id AND d.deleted_at IS NULL
   WHERE s.id = $1 AND s.owner_id = $2 AND s.deleted_at IS NULL AND (r.id IS NOT NULL OR d.id IS NOT NULL)`;
// Concurrent sends in one session serialize on this lock; the running-turn index then decides.
const LOCKED_SESSION = `${SESSION} FOR UPDATE OF s`;

const AGENT_COLUMNS = `a.id, a.agent_key, a.name, a.model_alias::text AS model_alias, a.role_prompt, a.tool_permissions::text[] AS tool_permissions`;

const ROOM_ROSTER = `
  SELECT ${AGENT_COLUMNS}, ra.position FROM room_agents ra JOIN agents a ON a.id = ra.agent_id AND a.deleted_at IS NULL
   WHERE ra.room_id = $1 ORDER BY ra.position, ra.created_at`;

const DIRECT_AGENT = `SELECT ${AGENT_COLUMNS}, 0 AS position FROM agents a WHERE a.id = $1`;

function toEntry(row: AgentRow): RosterEntry {
  return snapshotAgent(
    { id: row.id, agentKey: row.agent_key, name: row.name, modelAlias: row.model_alias, rolePrompt: row.role_prompt, toolPermissions: row.tool_permissions },
    row.position,
  );
}

type Queryable = Pick<pg.ClientBase, "query">;

/** Null when the session is missing, deleted, or not the viewer's. `lock` must run inside a transaction. */
export async function loadSessionScope(client: Queryable, userId: string, sessionId: string, lock = false): Promise<SessionScope | null> {
  const session = (await client.query<SessionRow>(lock ? LOCKED_SESSION : SESSION, [sessionId, userId])).rows[0];
  if (!session) return null;
  if (session.agent_id) {
    const agents = (await client.query<AgentRow>(DIRECT_AGENT, [session.agent_id])).rows;
    return { sessionId, room: null, directAgentId: session.agent_id, mode: "direct", roster: agents.map(toEntry) };
  }
  const roster = (await client.query<AgentRow>(ROOM_ROSTER, [session.room_id])).rows.map(toEntry);
  return {
    sessionId,
    room: { id: session.room_id!, name: session.name!, goal: session.goal!, currentMode: session.current_mode!, pendingMode: session.pending_mode },
    directAgentId: null,
    mode: session.pending_mode ?? session.current_mode!,
    roster,
  };
}
