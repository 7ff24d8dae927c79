// Session.lastMessagePreview for every session object: a per-request loader
// reads the latest shared message of all the sessions asked for in one
// statement, one message each, and only the preview's length of it. Through
// plugin-prisma's nested select, Prisma read every shared message of every
// session on a page, content and all, and kept the first of each: a sidebar
// grew slower with every message of its conversations.
import type { Context } from "../context.ts";
import { queryRows } from "../db/sql.ts";
import { requestLoader } from "./requestLoader.ts";

export const PREVIEW_CHARS = 140;

/**
 * The start of the latest shared message of the session `sessionId` names (a
 * column of the code's own statements), null before the first: one message
 * read, through idx_messages_session_created_at backward. left() keeps one
 * character more than a preview shows, enough to tell that the message is
 * longer (JavaScript counts UTF-16 units, PostgreSQL characters, and a
 * character is at least one unit). A sessions page reads it with its rows.
 */
export const latestSharedContent = (sessionId: string) => `(SELECT left(c.content, ${PREVIEW_CHARS + 1}) FROM messages c
      WHERE c.session_id = ${sessionId} AND c.visibility = 'shared' ORDER BY c.created_at DESC, c.id DESC LIMIT 1)`;

// $1 the sessions' ids.
const LATEST_SHARED = `SELECT s.id::text AS session_id, ${latestSharedContent("s.id")} AS content FROM unnest($1::uuid[]) AS s(id)`;

interface LatestRow {
  session_id: string;
  content: string | null;
}

function previewOf(content: string | null | undefined): string | null {
  if (content == null || content.length <= PREVIEW_CHARS) return content ?? null;
  const cut = content.slice(0, PREVIEW_CHARS - 1);
  // Never half of a surrogate pair: an emoji cut in two is not text, and clients decode it as U+FFFD.
  return `${/[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut}…`;
}

const loaders = requestLoader<string, string | null>(async (sessionIds, context) => {
  const { pool, statements } = context.services;
  const rows = await queryRows<LatestRow>(pool, { text: LATEST_SHARED, values: [sessionIds] }, statements);
  const latest = new Map(rows.map((row) => [row.session_id, row.content]));
  return sessionIds.map((id) => previewOf(latest.get(id)));
});

/** The start of the session's latest shared message (at most PREVIEW_CHARS characters); null before the first. `latestShared`: read with the session by a sessions page. */
export function lastMessagePreview(session: { id: string; latestShared?: string | null }, context: Context): string | null | Promise<string | null> {
  return session.latestShared !== undefined ? previewOf(session.latestShared) : loaders(context).load(session.id);
}
