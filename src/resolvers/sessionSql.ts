// Sessions in plain SQL on the pg pool: one live session of the viewer, and a
// page of the sessions lists (the viewer's, a room's, an agent's direct
// chats), latest activity first (the id breaks ties, so pages never overlap),
// with the same cursors and paging as plugin-prisma's prismaConnection({
// cursor: "id" }). A chat UI reads its sidebar on every visit; through Prisma
// the page was planned and compiled on every request.
import type { AppServices } from "../runtime.ts";
import type { Agent, Room, Session } from "../generated/prisma/client.ts";
import { queryOne, queryRows, raw, sql, type Statement } from "../db/sql.ts";
import { latestSharedContent } from "./lastMessagePreview.ts";
import { roomSelectList, withAgentDates, type RoomSelection } from "./roomSql.ts";
import { agentColumns } from "./agentSql.ts";

type HotReader = Pick<AppServices, "pool" | "statements">;

/** Every column under its Prisma field's name, `s` the sessions table. */
const SESSION_COLUMNS = `s.id, s.owner_id AS "ownerId", s.room_id AS "roomId", s.agent_id AS "agentId", s.title, s.deleted_at AS "deletedAt",
         s.created_at AS "createdAt", s.updated_at AS "updatedAt", s.last_activity_at AS "lastActivityAt"`;

/** With the room and the agent, to check that they are live. */
const SESSION_FROM = "FROM sessions s LEFT JOIN rooms r ON r.id = s.room_id LEFT JOIN agents a ON a.id = s.agent_id";
/** A session disappears with its (soft-deleted) room or agent (liveSessionWhere in session.ts, in SQL). */
const LIVE = "s.deleted_at IS NULL AND (s.room_id IS NOT NULL AND r.deleted_at IS NULL OR s.agent_id IS NOT NULL AND a.deleted_at IS NULL)";

/** One of the viewer's live sessions (its room or agent live too), as Prisma would return the row. */
export const liveSessionSql = (sessionId: string, ownerId: string) => sql`
  SELECT ${raw(SESSION_COLUMNS)} ${raw(SESSION_FROM)}
   WHERE s.id = ${sessionId} AND s.owner_id = ${ownerId} AND ${raw(LIVE)}`;

export async function selectLiveSession({ pool, statements }: HotReader, sessionId: string, ownerId: string): Promise<Session | null> {
  return (await queryOne<Session>(pool, liveSessionSql(sessionId, ownerId), statements)) ?? null;
}

/** Which sessions a list holds: all the viewer's, or those of one room or one agent. */
export type SessionScope = { roomId: string } | { agentId: string } | Record<string, never>;

export interface SessionPageQuery {
  ownerId: string;
  scope: SessionScope;
  /** The session the page starts after (or, backward, before); null for the first or last page. */
  cursorId: string | null;
  /** Latest activity first, or oldest first from the end or the cursor for `last`/`before`. */
  backward: boolean;
  limit: number;
  /** What comes with each session, so that its field costs no statement of its own. */
  preload: SessionPreload;
}

/** Session fields a page reads with its rows when they are selected (sessionPreload). */
export interface SessionPreload {
  turnCount: boolean;
  lastMessagePreview: boolean;
  /** What Session.room selects (its agents included); null when it is not selected. */
  room: RoomSelection | null;
  /** The room's columns in a page's rows, each named by its field after ROOM_PREFIX (roomSelectList). */
  roomColumns: JoinedColumns | null;
  /** The columns of the Agent fields selected under Session.agent, named after AGENT_PREFIX; null when it is not selected. */
  agentColumns: JoinedColumns | null;
  /** Names the preload among the page statements built. */
  key: string;
}

/** A joined row's select-list expressions, and the fields they name. */
interface JoinedColumns {
  expressions: readonly string[];
  fields: readonly string[];
}

/** How a room's and an agent's columns are named in a page's rows. */
const ROOM_PREFIX = "room.";
const AGENT_PREFIX = "agent.";

/** What a page reads with its sessions, from the fields selected of them (and of Session.room and Session.agent when selected). */
export function sessionPreload(sessionFields: ReadonlySet<string>, room: RoomSelection | null, agentFields: ReadonlySet<string> | null): SessionPreload {
  const turnCount = sessionFields.has("turnCount");
  const lastMessagePreview = sessionFields.has("lastMessagePreview");
  const agents = agentFields ? agentColumns(agentFields) : null;
  const agentJoined = agents && { expressions: agents.map(([field, column]) => `${column} AS "${AGENT_PREFIX}${field}"`), fields: agents.map(([field]) => field) };
  const roomColumns = room && roomSelectList(room, ROOM_PREFIX);
  const key = `${turnCount}|${lastMessagePreview}|${room?.key ?? "-"}|${agentJoined?.fields.join(",") ?? "-"}`;
  return { turnCount, lastMessagePreview, room, roomColumns, agentColumns: agentJoined, key };
}

/** A room or an agent as a page reads it: the columns of the selected fields (GraphQL resolves no other field of it), a room with its agents when they are selected. */
export type PreloadedRoom = Pick<Room, "id"> & Partial<Room> & { preloadedAgents?: Agent[] };
export type PreloadedAgent = Pick<Agent, "id"> & Partial<Agent>;

/**
 * A session of a page; with its turn count, its latest shared message's start
 * (null: none), its room (null: a direct chat) and its agent (null: a room
 * session) when the page read them.
 */
export type SessionOfPage = Session & { turnCount?: number; latestShared?: string | null; preloadedRoom?: PreloadedRoom | null; preloadedAgent?: PreloadedAgent | null };

type ScopeKind = "all" | "room" | "agent";

// $1 the owner, $2 the limit, then the cursor's session (when there is one), then the room or the
// agent. Row comparison against the cursor row keeps the timestamp's microseconds, which a Date would
// drop; a cursor naming a session of another of the viewer's lists positions the page as Prisma's does.
function pageText(scope: ScopeKind, backward: boolean, withCursor: boolean, preload: SessionPreload): string {
  const [comparison, order] = backward ? [">", "ASC"] : ["<", "DESC"];
  const scopeParameter = withCursor ? "$4" : "$3";
  const scoped = { all: "", room: `AND s.room_id = ${scopeParameter}`, agent: `AND s.agent_id = ${scopeParameter}` }[scope];
  // Computed for the page's rows only. uq_turns_session_seq leads with session_id: the count reads that index.
  const preloaded = [
    ...(preload.turnCount ? [`(SELECT count(*)::int FROM turns t WHERE t.session_id = s.id) AS "turnCount"`] : []),
    ...(preload.lastMessagePreview ? [`${latestSharedContent("s.id")} AS "latestShared"`] : []),
    // The room and the agent the page joins to check that they are live (null where the session has none).
    ...(preload.roomColumns?.expressions ?? []),
    ...(preload.agentColumns?.expressions ?? []),
  ];
  return `SELECT ${[SESSION_COLUMNS, ...preloaded].join(", ")} ${SESSION_FROM}
   WHERE s.owner_id = $1 AND ${LIVE} ${scoped}
     ${withCursor ? `AND (s.last_activity_at, s.id) ${comparison} (SELECT c.last_activity_at, c.id FROM sessions c WHERE c.id = $3)` : ""}
   ORDER BY s.last_activity_at ${order}, s.id ${order}
   LIMIT $2`;
}

/** Page statements by shape: a handful per client, each built once. */
const MAX_PAGE_TEXTS = 256;
const pageTexts = new Map<string, string>();

function sessionPageStatement({ ownerId, scope, cursorId, backward, limit, preload }: SessionPageQuery): Statement {
  const [kind, scopeId]: [ScopeKind, string | null] = "roomId" in scope ? ["room", scope.roomId] : "agentId" in scope ? ["agent", scope.agentId] : ["all", null];
  const key = `${kind}|${backward}|${cursorId !== null}|${preload.key}`;
  let text = pageTexts.get(key);
  if (text === undefined) {
    text = pageText(kind, backward, cursorId !== null, preload);
    if (pageTexts.size < MAX_PAGE_TEXTS) pageTexts.set(key, text);
  }
  const values: unknown[] = [ownerId, limit];
  if (cursorId !== null) values.push(cursorId);
  if (scopeId !== null) values.push(scopeId);
  return { text, values };
}

function joined(row: Record<string, unknown>, fields: readonly string[], prefix: string): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const field of fields) object[field] = row[`${prefix}${field}`];
  return object;
}

/** The page in display order (latest activity first), one prepared statement. */
export async function selectSessionPage({ pool, statements }: HotReader, query: SessionPageQuery): Promise<SessionOfPage[]> {
  const sessions = await queryRows<SessionOfPage & Record<string, unknown>>(pool, sessionPageStatement(query), statements);
  // The joined columns stay on the row too (deleting them would slow every later read of the row).
  const { room, roomColumns, agentColumns } = query.preload;
  for (const session of sessions) {
    if (room && roomColumns) session.preloadedRoom = session.roomId ? withAgentDates(joined(session, roomColumns.fields, ROOM_PREFIX) as PreloadedRoom, room) : null;
    if (agentColumns) session.preloadedAgent = session.agentId ? (joined(session, agentColumns.fields, AGENT_PREFIX) as PreloadedAgent) : null;
  }
  return query.backward ? sessions.reverse() : sessions;
}
