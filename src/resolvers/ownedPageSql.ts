// What the rooms and agents pages share: the viewer's live rows of a table,
// newest first, from a cursor row, as plugin-prisma's prismaConnection({
// cursor: "id" }) pages them. Only the code's own table names and aliases are
// ever put into the text.

/** The statement's tail after its select list: $1 the owner, $2 the limit, $3 the cursor's row (when `withCursor`). */
export function ownedPageTail(table: "rooms" | "agents", alias: string, backward: boolean, withCursor: boolean): string {
  const [comparison, order] = backward ? [">", "ASC"] : ["<", "DESC"];
  // Row comparison against the cursor row keeps the timestamp's microseconds, which a Date would drop.
  return `FROM ${table} ${alias}
   WHERE ${alias}.owner_id = $1 AND ${alias}.deleted_at IS NULL
     ${withCursor ? `AND (${alias}.created_at, ${alias}.id) ${comparison} (SELECT c.created_at, c.id FROM ${table} c WHERE c.id = $3)` : ""}
   ORDER BY ${alias}.created_at ${order}, ${alias}.id ${order}
   LIMIT $2`;
}
