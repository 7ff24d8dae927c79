// One typed way to write SQL by hand. A statement is a tagged template whose
// values travel as parameters ($1, $2 …), never in its text; it runs through
// `queryRows` with the row type declared beside it; several statements that
// must commit together run in `inTransaction`. The tag is Prisma's
// (sql-template-tag): Prisma's `$queryRaw` takes the same statements.
//
// Measured choice: the tag costs about a microsecond per statement (it joins
// the text on each use), invisible next to a round trip, and needs no
// generation step or database at build time (pgtyped and TypedSQL do). Hot
// statements are prepared under a name on a direct connection through the
// same call (`prepared`, see statements.ts).
import type pg from "pg";
import { Prisma } from "../generated/prisma/client.ts";
import type { HotStatements } from "./statements.ts";

export type Sql = Prisma.Sql;
export const sql = Prisma.sql;
export const join = Prisma.join;
export const empty = Prisma.empty;
/** Text that is not a value: identifiers and constants of the code, never input. */
export const raw = Prisma.raw;

/**
 * A timestamptz as the DateTime scalar writes an instant (Date#toISOString:
 * UTC, milliseconds, "Z"; the microseconds cut off, as Date cuts them), for
 * instants a statement returns inside JSON, where they would otherwise come
 * with microseconds and an offset.
 */
export const isoInstant = (column: Sql) => sql`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** What a statement is sent as: its text and its values (an Sql, or a text built once and reused with new values). */
export type Statement = Pick<Sql, "text" | "values">;

/** A pg Pool or a checked-out client. */
export interface Queryable {
  query<Row extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<Row>>;
}

/** The statement as pg sends it: named (prepared once per connection) when `prepared` allows it. */
export function queryConfig(statement: Statement, prepared?: HotStatements): pg.QueryConfig {
  return prepared ? prepared.config(statement.text, statement.values) : { text: statement.text, values: statement.values };
}

/** Clients inside inTransaction: a statement that fails there aborts the transaction, so the whole unit of work goes again. */
const transactionClients = new WeakSet<object>();

/** A named statement was lost to a transaction pooler inside a transaction: inTransaction sends the work again, unnamed. */
class NamedStatementLost extends Error {
  constructor(readonly lost: unknown) {
    super("a prepared statement was lost to a transaction pooler");
  }
}

/**
 * Runs the statement; a named one that a pooler lost (statements.ts) is sent
 * again unnamed, here or, inside a transaction, by inTransaction.
 */
export async function queryResult<Row extends pg.QueryResultRow>(db: Queryable, statement: Statement, prepared?: HotStatements): Promise<pg.QueryResult<Row>> {
  const config = queryConfig(statement, prepared);
  try {
    return await db.query<Row>(config);
  } catch (error) {
    if (!prepared?.recovers(error, config)) throw error;
    if (transactionClients.has(db)) throw new NamedStatementLost(error);
    return db.query<Row>(queryConfig(statement, prepared));
  }
}

export async function queryRows<Row extends pg.QueryResultRow>(db: Queryable, statement: Statement, prepared?: HotStatements): Promise<Row[]> {
  return (await queryResult<Row>(db, statement, prepared)).rows;
}

/** The first row, or undefined when there is none. */
export async function queryOne<Row extends pg.QueryResultRow>(db: Queryable, statement: Statement, prepared?: HotStatements): Promise<Row | undefined> {
  return (await queryRows<Row>(db, statement, prepared))[0];
}

/**
 * Runs `work` in one transaction on a connection of its own: committed when
 * it returns, rolled back when it throws (the error is rethrown). One rule for
 * a failed connection: a connection whose rollback fails is discarded, never
 * handed back to the pool. Work that lost a named statement to a transaction
 * pooler is sent once more, its statements unnamed.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  try {
    return await transaction(pool, work);
  } catch (error) {
    if (!(error instanceof NamedStatementLost)) throw error;
    return transaction(pool, work);
  }
}

async function transaction<T>(pool: pg.Pool, work: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  transactionClients.add(client);
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch((rollbackError: unknown) => (broken = rollbackError instanceof Error ? rollbackError : new Error("rollback failed")));
    throw error;
  } finally {
    transactionClients.delete(client);
    client.release(broken);
  }
}
