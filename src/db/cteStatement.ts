// Several writes as one SQL statement: named data-modifying CTEs, which always
// run to completion (read or not) and commit together, in one round trip.
import { type Sql, join, sql } from "./sql.ts";

export function statementOf(ctes: Sql[], select: Sql = sql`1`): Sql {
  return sql`WITH ${join(ctes, ", ")} SELECT ${select}`;
}
