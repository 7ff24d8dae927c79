// Session.lastMessagePreview for every session object: a per-request loader
// reads the latest shared message of all the sessions asked for in one
// statement, one message each, and only the preview's length of it. Through
// plugin-prisma's nested select, Prisma read every shared message of every
// session on a page, content and all, and kept the first of each: a sidebar
// grew slower with every message of its conversations.
import DataLoader from "dataloader";
import { createContextCache } from "@pothos/core";
import type { Context } from "../context.ts";
import { queryRows } from "../db/sql.ts";

export const PREVIEW_CHARS = 140;

// $1 the sessions' ids. left() keeps one character more than a preview shows,
// enough to tell that the message is longer (JavaScript counts UTF-16 units,
// PostgreSQL characters, and a character is at least one unit).
const LATEST_SHARED = `SELECT s.id::text AS session_id, m.content
    FROM unnest($1::uuid[]) AS s(id)
   CROSS JOIN LATERAL (
     SELECT left(c.content, ${PREVIEW_CHARS + 1}) AS content
       FROM messages c
      WHERE c.session_id = s.id AND c.visibility = 'shared'
      ORDER BY c.created_at DESC, c.id DESC
      LIMIT 1) m`;

interface LatestRow {
  session_id: string;
  content: string;
}

function previewOf(content: string | undefined): string | null {
  if (content === undefined || content.length <= PREVIEW_CHARS) return content ?? null;
  const cut = content.slice(0, PREVIEW_CHARS - 1);
  // Never half of a surrogate pair: an emoji cut in two is not text, and clients decode it as U+FFFD.
  return `${/[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut}…`;
}

// No caching across loads: a mutation earlier in the same request may have added a message.
const loaders = createContextCache(
  (context: Context) =>
    new DataLoader<string, string | null>(
      async (sessionIds) => {
        const { pool, statements } = context.services;
        const rows = await queryRows<LatestRow>(pool, { text: LATEST_SHARED, values: [sessionIds] }, statements);
        const latest = new Map(rows.map((row) => [row.session_id, row.content]));
        return sessionIds.map((id) => previewOf(latest.get(id)));
      },
      { cache: false },
    ),
);

/** The start of the session's latest shared message (at most PREVIEW_CHARS characters); null before the first. */
export function lastMessagePreview(sessionId: string, context: Context): Promise<string | null> {
  return loaders(context).load(sessionId);
}
