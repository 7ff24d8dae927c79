// The hot room reads in plain SQL on the pg pool: a page of the viewer's live
// rooms (with each room's agents, in position order, in the same statement),
// and the agents of many rooms at once. Prisma would plan and compile these
// on every request; they are the API's most frequent reads.
import type { AppServices } from "../runtime.ts";
import type { Agent, Room } from "../generated/prisma/client.ts";
import { queryRows, raw, sql, type Sql, type Statement } from "../db/sql.ts";
import { ROOM_AGENTS } from "../turns/sessionScopeSql.ts";
import { ownedPageTail } from "./ownedPageSql.ts";
import { AGENT_COLUMNS, agentColumns } from "./agentSql.ts";

/** A room as Prisma returns it, optionally with its agents already loaded. */
export type RoomWithAgents = Room & { preloadedAgents?: Agent[] };

/** Which columns a page reads: the Room fields an operation selects, and the Agent fields under Room.agents. */
export interface RoomSelection {
  /** The Room fields the operation selects: only their columns are read (and always id). */
  roomFields: ReadonlySet<string>;
  /** The Agent fields selected under Room.agents; null when the operation does not select agents. */
  agentFields: ReadonlySet<string> | null;
  /** Names the selection among the page statements built (roomSelection). */
  key: string;
  /** The selected Agent fields that json_build_object writes as ISO strings, to be read back as Dates. */
  agentTimestamps: readonly AgentTimestamp[];
}

export interface RoomPageQuery {
  ownerId: string;
  /** The room the page starts after (or, backward, before); null for the first or last page. */
  cursorId: string | null;
  /** Newest first, or oldest first from the end or the cursor for `last`/`before`. */
  backward: boolean;
  limit: number;
  selection: RoomSelection;
}

export function roomSelection(roomFields: ReadonlySet<string>, agentFields: ReadonlySet<string> | null): RoomSelection {
  const key = `${[...roomFields].sort().join(",")}|${agentFields ? [...agentFields].sort().join(",") : "-"}`;
  return { roomFields, agentFields, key, agentTimestamps: AGENT_TIMESTAMPS.filter((field) => agentFields?.has(field)) };
}

// Each GraphQL field has its Prisma field's name. Only these constant
// expressions are ever interpolated into the SQL text (through raw()).
const ROOM_COLUMNS: Record<keyof Room, string> = {
  id: "r.id", ownerId: "r.owner_id", name: "r.name", goal: "r.goal", currentMode: "r.current_mode",
  pendingMode: "r.pending_mode", monthlyCreditBudget: "r.monthly_credit_budget", deletedAt: "r.deleted_at", createdAt: "r.created_at", updatedAt: "r.updated_at",
  maxRounds: "r.max_rounds", maxInvocations: "r.max_invocations", maxPerAgent: "r.max_per_agent", turnTimeLimitSeconds: "r.turn_time_limit_seconds",
};
const ALL_AGENT_FIELDS: ReadonlySet<string> = new Set(Object.keys(AGENT_COLUMNS));
/** json_build_object writes timestamps as ISO strings. */
const AGENT_TIMESTAMPS = ["deletedAt", "createdAt", "updatedAt"] as const;
type AgentTimestamp = (typeof AGENT_TIMESTAMPS)[number];

const ROSTER_ORDER = sql`ra.position, ra.created_at`;

/** GraphQL fields of Room made of several columns. */
const COMPOSITE_FIELDS: Record<string, readonly string[]> = { turnLimits: ["maxRounds", "maxInvocations", "maxPerAgent", "turnTimeLimitSeconds"] };

function selectedColumns(columns: Record<string, string>, fields: ReadonlySet<string>): [string, string][] {
  const wanted = new Set([...fields].flatMap((field) => COMPOSITE_FIELDS[field] ?? [field]));
  return Object.entries(columns).filter(([field]) => field === "id" || wanted.has(field));
}

/**
 * The selected agent fields as JSON; the id only when a field needs it (it is
 * selected, or a selected field is not a column and is resolved from the id).
 * Unselected, the ids were about half of the agents' bytes the server parsed
 * for each rooms page (pg parses a json column with JSON.parse).
 */
function agentJson(fields: ReadonlySet<string>): Sql {
  const needsId = [...fields].some((field) => field === "id" || !Object.hasOwn(AGENT_COLUMNS, field));
  const columns = agentColumns(fields).filter(([field]) => needsId || field !== "id");
  return raw(`json_build_object(${columns.map(([field, column]) => `'${field}', ${column}`).join(", ")})`);
}

/** An agent as json_build_object wrote it. */
type AgentJson = Record<string, unknown>;
/** A row of the page: the selected columns (always id). */
type RoomPageRow = Pick<Room, "id"> & Partial<Room> & { preloadedAgents?: AgentJson[] };

/** Page statements by selection and direction: a handful per client, each built once. */
const MAX_PAGE_TEXTS = 256;
const pageTexts = new Map<string, string>();

/**
 * What a statement reads of a room (`r` the rooms table) for `selection`: the
 * selected fields' columns and, when agents are selected, the room's agents
 * as "preloadedAgents" (JSON, in position order), each named by its field
 * after `prefix`. The rooms page reads rooms so, and a sessions page its
 * sessions' rooms.
 */
export function roomSelectList({ roomFields, agentFields }: RoomSelection, prefix = ""): { expressions: string[]; fields: string[] } {
  const columns = selectedColumns(ROOM_COLUMNS, roomFields);
  const expressions = columns.map(([field, column]) => `${column} AS "${prefix}${field}"`);
  const fields = columns.map(([field]) => field);
  if (agentFields) {
    expressions.push(`coalesce((SELECT json_agg(${agentJson(agentFields).text} ORDER BY ${ROSTER_ORDER.text}) ${ROOM_AGENTS.text} WHERE ra.room_id = r.id), '[]') AS "${prefix}preloadedAgents"`);
    fields.push("preloadedAgents");
  }
  return { expressions, fields };
}

/** A room read with roomSelectList: its preloaded agents' timestamps as Dates (json_build_object wrote them as text). */
export function withAgentDates<RoomRow extends { preloadedAgents?: unknown }>(room: RoomRow, { agentTimestamps }: RoomSelection): RoomRow {
  if (agentTimestamps.length > 0) for (const agent of (room.preloadedAgents as AgentJson[] | undefined) ?? []) withDates(agent, agentTimestamps);
  return room;
}

// The values are $1 the owner, $2 the limit and $3 the cursor's room, whatever the shape.
function roomPageText(selection: RoomSelection, backward: boolean, withCursor: boolean): string {
  return `SELECT ${roomSelectList(selection).expressions.join(", ")}
    ${ownedPageTail("rooms", "r", backward, withCursor)}`;
}

function roomPageStatement({ ownerId, cursorId, backward, limit, selection }: RoomPageQuery): Statement {
  const key = `${selection.key}|${backward ? "backward" : "forward"}|${cursorId ? "cursor" : "start"}`;
  let text = pageTexts.get(key);
  if (text === undefined) {
    text = roomPageText(selection, backward, cursorId !== null);
    if (pageTexts.size < MAX_PAGE_TEXTS) pageTexts.set(key, text);
  }
  return { text, values: cursorId ? [ownerId, limit, cursorId] : [ownerId, limit] };
}

interface RosterRow {
  room_id: string;
  agent: AgentJson;
}

const ALL_AGENTS_JSON = agentJson(ALL_AGENT_FIELDS);
const rostersSql = (roomIds: readonly string[]) => sql`SELECT ra.room_id, ${ALL_AGENTS_JSON} AS agent ${ROOM_AGENTS}
   WHERE ra.room_id = ANY(${roomIds}::uuid[]) ORDER BY ${ROSTER_ORDER}`;

function withDates(agent: AgentJson, timestamps: readonly AgentTimestamp[] = AGENT_TIMESTAMPS): Agent {
  for (const key of timestamps) if (typeof agent[key] === "string") agent[key] = new Date(agent[key]);
  return agent as unknown as Agent;
}

/**
 * The page in display order (newest first), one statement whatever its size.
 * Rooms carry only the selected fields' columns: GraphQL resolves no other
 * field of them, so they stand in for full rows.
 */
type HotReader = Pick<AppServices, "pool" | "statements">;

export async function selectRoomPage({ pool, statements }: HotReader, query: RoomPageQuery): Promise<RoomWithAgents[]> {
  // Prepared where allowed: one statement per selection shape, planned once per connection.
  const rows = await queryRows<RoomPageRow>(pool, roomPageStatement(query), statements);
  for (const row of rows) withAgentDates(row, query.selection);
  const rooms = rows as unknown as RoomWithAgents[];
  return query.backward ? rooms.reverse() : rooms;
}

/** Each room's live agents in position order; one statement for all the rooms. */
export async function selectRoomAgents({ pool, statements }: HotReader, roomIds: readonly string[]): Promise<Map<string, Agent[]>> {
  const rows = await queryRows<RosterRow>(pool, rostersSql(roomIds), statements);
  const byRoom = new Map<string, Agent[]>(roomIds.map((id) => [id, []]));
  for (const row of rows) byRoom.get(row.room_id)?.push(withDates(row.agent));
  return byRoom;
}

// Every column: what Prisma would return, but monthlyCreditBudget as text (no Room field reads it from the
// row). Each room by its id (a lateral read, OFFSET 0: never flattened into a join), its owner checked
// outside that read: without fresh statistics the planner otherwise read all the owner's rooms.
const OWNED_BY_ID = `SELECT ${Object.entries(ROOM_COLUMNS).map(([field, column]) => `${column} AS "${field}"`).join(", ")}
    FROM unnest($1::uuid[]) AS wanted(id) JOIN LATERAL (SELECT * FROM rooms r WHERE r.id = wanted.id OFFSET 0) r ON r.owner_id = $2`;

/** The owner's rooms with these ids, deleted ones included; one prepared statement for all of them. */
export async function selectOwnedRooms({ pool, statements }: HotReader, ownerId: string, ids: readonly string[]): Promise<Room[]> {
  return queryRows<Room>(pool, { text: OWNED_BY_ID, values: [ids, ownerId] }, statements);
}
