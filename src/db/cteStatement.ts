// Several writes as one SQL statement: named data-modifying CTEs, which always
// run to completion (read or not) and commit together, in one round trip.
import { Prisma } from "../generated/prisma/client.ts";

export function statementOf(ctes: Prisma.Sql[], select: Prisma.Sql = Prisma.sql`1`): Prisma.Sql {
  return Prisma.sql`WITH ${Prisma.join(ctes, ", ")} SELECT ${select}`;
}
