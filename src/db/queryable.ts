import type { QueryResult, QueryResultRow } from "pg";

/** What the gates need from a database: a pg Pool or Client both fit. */
export interface Queryable {
  query<Row extends QueryResultRow>(sql: string, values?: unknown[]): Promise<QueryResult<Row>>;
}
