// A session and a page of its transcript in plain SQL on the pg pool (the
// page by keyset on (created_at, id)): the transcript is what a chat UI reads
// most, and a long conversation must cost the same per page as a short one.
// Same cursors and paging as prismaConnection({ cursor: "id" })
// (schema/cursorPage.ts).
import type { AppServices } from "../runtime.ts";
import type { Message, Session } from "../generated/prisma/client.ts";

export interface MessagePageQuery {
  sessionId: string;
  /** The message the page starts after (or, backward, before); null for the first or last page. */
  cursorId: string | null;
  /** `last`/`before`: read from the newest end (or the cursor) towards the oldest. */
  backward: boolean;
  limit: number;
}

/** The Message fields GraphQL reads, under their Prisma names. */
export type TranscriptMessage = Pick<Message, "id" | "role" | "agentKey" | "content" | "createdAt">;

const COLUMNS = `m.id, m.role::text AS role, m.agent_key AS "agentKey", m.content, m.created_at AS "createdAt"`;

// Row comparison against the cursor row keeps the timestamp's microseconds, which a Date would drop.
function pageSql(backward: boolean, withCursor: boolean): string {
  const [comparison, order] = backward ? ["<", "DESC"] : [">", "ASC"];
  return `SELECT ${COLUMNS} FROM messages m
   WHERE m.session_id = $1 AND m.visibility = 'shared'
     ${withCursor ? `AND (m.created_at, m.id) ${comparison} (SELECT c.created_at, c.id FROM messages c WHERE c.id = $3)` : ""}
   ORDER BY m.created_at ${order}, m.id ${order}
   LIMIT $2`;
}

/** Whether the cursor names a message of this session's transcript (else it positions nothing: NOT_FOUND). */
export const TRANSCRIPT_CURSOR = "SELECT count(*)::int AS count FROM messages WHERE id = $1 AND session_id = $2 AND visibility = 'shared'";

/**
 * The page in conversation order (oldest first), one prepared statement.
 * Rows carry the columns the Message type exposes (schema/turn.ts), which is
 * all GraphQL reads of them: they stand in for full rows.
 */
export async function selectMessagePage({ pool, statements }: Pick<AppServices, "pool" | "statements">, query: MessagePageQuery): Promise<Message[]> {
  const values: unknown[] = [query.sessionId, query.limit];
  if (query.cursorId) values.push(query.cursorId);
  const { rows } = await pool.query<TranscriptMessage>(statements.config(pageSql(query.backward, query.cursorId !== null), values));
  return (query.backward ? rows.reverse() : rows) as Message[];
}

/** One of the viewer's live sessions (its room or agent live too), as Prisma would return the row. */
const LIVE_SESSION = `
  SELECT s.id, s.owner_id AS "ownerId", s.room_id AS "roomId", s.agent_id AS "agentId", s.title, s.deleted_at AS "deletedAt",
         s.created_at AS "createdAt", s.updated_at AS "updatedAt", s.last_activity_at AS "lastActivityAt"
    FROM sessions s LEFT JOIN rooms r ON r.id = s.room_id LEFT JOIN agents a ON a.id = s.agent_id
   WHERE s.id = $1 AND s.owner_id = $2 AND s.deleted_at IS NULL
     AND (s.room_id IS NOT NULL AND r.deleted_at IS NULL OR s.agent_id IS NOT NULL AND a.deleted_at IS NULL)`;

export async function selectLiveSession({ pool, statements }: Pick<AppServices, "pool" | "statements">, sessionId: string, ownerId: string): Promise<Session | null> {
  const { rows } = await pool.query<Session>(statements.config(LIVE_SESSION, [sessionId, ownerId]));
  return rows[0] ?? null;
}

/** A session row with the first transcript page read in the same statement (no cursor: the newest or oldest page). */
export type SessionWithPage = Session & { preloadedMessages?: { backward: boolean; limit: number; rows: Message[] } };

/** The session and its newest (backward) or oldest page of messages, one prepared statement. */
function sessionWithPageSql(backward: boolean): string {
  const order = backward ? "DESC" : "ASC";
  return `WITH live AS (${LIVE_SESSION}),
    page AS (SELECT ${COLUMNS} FROM messages m WHERE m.session_id = (SELECT id FROM live) AND m.visibility = 'shared'
             ORDER BY m.created_at ${order}, m.id ${order} LIMIT $3)
    SELECT live.*, (SELECT coalesce(json_agg(page ORDER BY page."createdAt", page.id), '[]') FROM page) AS "pageMessages" FROM live`;
}

export async function selectLiveSessionWithPage(
  { pool, statements }: Pick<AppServices, "pool" | "statements">,
  sessionId: string,
  ownerId: string,
  window: { backward: boolean; limit: number },
): Promise<SessionWithPage | null> {
  const { rows } = await pool.query<Session & { pageMessages: Message[] }>(statements.config(sessionWithPageSql(window.backward), [sessionId, ownerId, window.limit]));
  const row = rows[0];
  if (!row) return null;
  const { pageMessages, ...session } = row;
  return { ...session, preloadedMessages: { ...window, rows: pageMessages } };
}
