// What the rooms and agents pages share: the viewer's live rows of a table,
// newest first, from a cursor row, as plugin-prisma's prismaConnection({
// cursor: "id" }) pages them, and the check that a cursor names one of them.
// Only the code's own table names and aliases are ever put into the text.
import type { AppServices } from "../runtime.ts";
import { queryOne } from "../db/sql.ts";

type OwnedTable = "rooms" | "agents";

/** The statement's tail after its select list: $1 the owner, $2 the limit, $3 the cursor's row (when `withCursor`). */
export function ownedPageTail(table: OwnedTable, alias: string, backward: boolean, withCursor: boolean): string {
  const [comparison, order] = backward ? [">", "ASC"] : ["<", "DESC"];
  // Row comparison against the cursor row keeps the timestamp's microseconds, which a Date would drop.
  return `FROM ${table} ${alias}
   WHERE ${alias}.owner_id = $1 AND ${alias}.deleted_at IS NULL
     ${withCursor ? `AND (${alias}.created_at, ${alias}.id) ${comparison} (SELECT c.created_at, c.id FROM ${table} c WHERE c.id = $3)` : ""}
   ORDER BY ${alias}.created_at ${order}, ${alias}.id ${order}
   LIMIT $2`;
}

const LIVE_OWNED = {
  rooms: "SELECT count(*)::int AS count FROM rooms WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL",
  agents: "SELECT count(*)::int AS count FROM agents WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL",
} as const satisfies Record<OwnedTable, string>;

/** 1 when `id` is one of the owner's live rows of the table, else 0 (assertOwnCursors' count). */
export async function countLiveOwned({ pool, statements }: Pick<AppServices, "pool" | "statements">, table: OwnedTable, id: string, ownerId: string): Promise<number> {
  return (await queryOne<{ count: number }>(pool, { text: LIVE_OWNED[table], values: [id, ownerId] }, statements))!.count;
}
