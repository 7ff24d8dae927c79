// Shared by the room, agent and session queries: NOT_FOUND as a GraphQL
// error (queries return the entity, not a union), id decoding, and cursor
// checks so a foreign or deleted row's cursor never positions a page.
import { GraphQLError } from "graphql";
import { parsePrismaCursor } from "@pothos/plugin-prisma";
import { decodeId } from "../validation/input.ts";

export const CONNECTION_SIZES = { defaultSize: 20, maxSize: 50 } as const;

export function notFoundQueryError(entity: string): never {
  throw new GraphQLError(`${entity} not found.`, { extensions: { code: "NOT_FOUND" } });
}

/** Malformed ids are NOT_FOUND, exactly like missing or foreign ones. */
export function decodeQueryId(raw: string | number, entity: string): string {
  try {
    return decodeId(raw, entity);
  } catch {
    return notFoundQueryError(entity);
  }
}

/**
 * Cursors (after, before) must name the viewer's live rows; anything else is
 * NOT_FOUND. Returns the id the page starts from, null without a cursor.
 */
export async function assertOwnCursors(
  args: { after?: string | null; before?: string | null },
  countOwned: (id: string) => Promise<number>,
): Promise<string | null> {
  let checked: string | null = null;
  for (const cursor of [args.after, args.before]) checked = (await assertOwnCursor(cursor, countOwned)) ?? checked;
  return checked;
}

async function assertOwnCursor(cursor: string | null | undefined, countOwned: (id: string) => Promise<number>): Promise<string | null> {
  if (cursor === null || cursor === undefined) return null;
  let id: string;
  try {
    const parsed = parsePrismaCursor(cursor);
    if (typeof parsed !== "string") throw new Error("not an id cursor");
    id = decodeId(parsed, "Cursor");
  } catch {
    return notFoundQueryError("Cursor");
  }
  if ((await countOwned(id)) === 0) notFoundQueryError("Cursor");
  return id;
}
