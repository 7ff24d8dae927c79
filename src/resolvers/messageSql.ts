// A session and a page of its transcript in plain SQL on the pg pool (the
// page by keyset on (created_at, id)): the transcript is what a chat UI reads
// most, and a long conversation must cost the same per page as a short one.
// Same cursors and paging as prismaConnection({ cursor: "id" })
// (schema/cursorPage.ts).
import type { AppServices } from "../runtime.ts";
import type { Message, Session } from "../generated/prisma/client.ts";
import { empty, isoInstant, queryOne, queryRows, raw, sql, type Queryable, type Sql } from "../db/sql.ts";
import { liveSessionSql } from "./sessionSql.ts";

export interface MessagePageQuery {
  sessionId: string;
  /** The message the page starts after (or, backward, before); null for the first or last page. */
  cursorId: string | null;
  /** `last`/`before`: read from the newest end (or the cursor) towards the oldest. */
  backward: boolean;
  limit: number;
}

/** The Message fields GraphQL reads, under their Prisma names; createdAt a Date, or as the DateTime scalar writes it (read as JSON). */
export type TranscriptMessage = Pick<Message, "id" | "role" | "agentKey" | "content"> & { createdAt: Date | string };

const COLUMNS = sql`m.id, m.role::text AS role, m.agent_key AS "agentKey", m.content, m.created_at AS "createdAt"`;

// Row comparison against the cursor row keeps the timestamp's microseconds, which a Date would drop.
function pageSql({ sessionId, cursorId, backward, limit }: MessagePageQuery): Sql {
  const [comparison, order] = backward ? [raw("<"), raw("DESC")] : [raw(">"), raw("ASC")];
  return sql`SELECT ${COLUMNS} FROM messages m
   WHERE m.session_id = ${sessionId} AND m.visibility = 'shared'
     ${cursorId ? sql`AND (m.created_at, m.id) ${comparison} (SELECT c.created_at, c.id FROM messages c WHERE c.id = ${cursorId})` : empty}
   ORDER BY m.created_at ${order}, m.id ${order}
   LIMIT ${limit}`;
}

/** How many messages of this session's transcript the cursor names: 0 means it positions nothing (NOT_FOUND). */
export async function transcriptCursorCount(db: Queryable, cursorId: string, sessionId: string): Promise<number> {
  const row = await queryOne<{ count: number }>(db, sql`SELECT count(*)::int AS count FROM messages WHERE id = ${cursorId} AND session_id = ${sessionId} AND visibility = 'shared'`);
  return row!.count;
}

/**
 * The page in conversation order (oldest first), one prepared statement.
 * Rows carry the columns the Message type exposes (schema/turn.ts), which is
 * all GraphQL reads of them: they stand in for full rows.
 */
export async function selectMessagePage({ pool, statements }: Pick<AppServices, "pool" | "statements">, query: MessagePageQuery): Promise<Message[]> {
  const rows = await queryRows<TranscriptMessage>(pool, pageSql(query), statements);
  return (query.backward ? rows.reverse() : rows) as Message[];
}

/** A session row with the first transcript page read in the same statement (no cursor: the newest or oldest page). */
export type SessionWithPage = Session & { preloadedMessages?: { backward: boolean; limit: number; rows: TranscriptMessage[] } };

type SessionPageRow = Session & { pageMessages: TranscriptMessage[] };

/**
 * The session and its newest (backward) or oldest page of messages, one
 * prepared statement. The page arrives as JSON, each message's createdAt as
 * the DateTime scalar writes it (schema/scalars.ts passes it through): a
 * timestamp in JSON otherwise carries microseconds and an offset, which
 * only Date's slow parser reads (the most of a transcript page's CPU after
 * JSON itself). The page keeps the order of the timestamps, microseconds
 * included.
 */
function sessionWithPageSql(sessionId: string, ownerId: string, { backward, limit }: { backward: boolean; limit: number }): Sql {
  const order = raw(backward ? "DESC" : "ASC");
  const message = sql`json_build_object('id', page.id, 'role', page.role, 'agentKey', page."agentKey", 'content', page.content, 'createdAt', ${isoInstant(sql`page."createdAt"`)})`;
  return sql`WITH live AS (${liveSessionSql(sessionId, ownerId)}),
    page AS (SELECT ${COLUMNS} FROM messages m WHERE m.session_id = (SELECT id FROM live) AND m.visibility = 'shared'
             ORDER BY m.created_at ${order}, m.id ${order} LIMIT ${limit})
    SELECT live.*, (SELECT coalesce(json_agg(${message} ORDER BY page."createdAt", page.id), '[]') FROM page) AS "pageMessages" FROM live`;
}

export async function selectLiveSessionWithPage(
  { pool, statements }: Pick<AppServices, "pool" | "statements">,
  sessionId: string,
  ownerId: string,
  window: { backward: boolean; limit: number },
): Promise<SessionWithPage | null> {
  const row = await queryOne<SessionPageRow>(pool, sessionWithPageSql(sessionId, ownerId, window), statements);
  if (!row) return null;
  const { pageMessages, ...session } = row;
  return { ...session, preloadedMessages: { ...window, rows: pageMessages } };
}
