// How the turn engine writes what is not a ledger row (step starts, results
// without a call, the turn's end): idempotent statements, retried with
// backoff while the database is briefly away, for at most half a lease: a
// turn that cannot write for longer is ended as interrupted.
import type pg from "pg";
import { retryWithBackoff } from "../db/backoff.ts";
import { queryResult, type Sql } from "../db/sql.ts";
import { isTransientDatabaseError } from "../db/transientErrors.ts";
import type { TurnEngineServices, TurnRun } from "./run.ts";

/** Another instance ended the turn (its lease had lapsed): this instance must stop running it. */
export class TurnLostError extends Error {
  constructor(readonly turnId: string) {
    super(`turn ${turnId} was ended by another instance`);
    this.name = "TurnLostError";
  }
}

export function writeDeadlineMs(services: Pick<TurnEngineServices, "owner">): number {
  return services.owner.leaseMs / 2;
}

export function writeForTurn<Row extends pg.QueryResultRow = pg.QueryResultRow>(run: TurnRun, statement: Sql, deadlineMs = writeDeadlineMs(run.services)): Promise<pg.QueryResult<Row>> {
  const { pool, statements } = run.services;
  return retryWithBackoff(() => queryResult<Row>(pool, statement, statements), isTransientDatabaseError, deadlineMs);
}
