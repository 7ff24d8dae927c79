// The one path from a provider's answer to a committed ledger row (SPEC 11),
// as log shippers move events through a disk buffer:
//
//   produce      ledgerRowFor(): the row, with its final id, when the call returns
//   buffer       journal.append(): on local disk, fsync'd, while
//   commit       one statement, at the same time: the row with what it paid for
//                (a step's result), retried with backoff while the database is
//                briefly away. The row is safe once either is durable, so a
//                step waits for the slower of the two, not for their sum.
//   acknowledge  journal.acknowledge(): the disk copy is no longer needed
//
// When the commit cannot happen in time, the caller's work fails but its row
// does not: it joins the backlog, inserted alone until the database takes it,
// and stays on disk meanwhile. Rows a dead process left on disk are adopted
// at start and every ORPHAN_SCAN_MS. Every insert of a row is the same
// idempotent statement (ledgerInsertSql), so a row is never counted twice.
import type pg from "pg";
import type { HotStatements } from "../db/statements.ts";
import { statementOf } from "../db/cteStatement.ts";
import { queryResult, sql, type Sql } from "../db/sql.ts";
import { backoffDelay, retryWithBackoff, type BackoffOptions } from "../db/backoff.ts";
import { isTransientDatabaseError } from "../db/transientErrors.ts";
import { ledgerInsertSql, type LedgerRow } from "./ledger.ts";
import type { LedgerJournal } from "./ledgerJournal.ts";

const BACKLOG_BATCH = 200;
const BACKLOG_BACKOFF: BackoffOptions = { baseMs: 250, maxMs: 5_000 };
const ORPHAN_SCAN_MS = 30_000;
const CLOSE_FLUSH_MS = 5_000;

export interface LedgerWriterOptions {
  pool: pg.Pool;
  statements: HotStatements;
  journal: LedgerJournal<LedgerRow>;
  /** How long a row's own commit is retried before the caller's work fails and the row goes to the backlog. */
  commitDeadlineMs: number;
  log: (message: string) => void;
}

export class LedgerWriter {
  private readonly backlog = new Map<string, LedgerRow>();
  private draining: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private orphanTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private committedRows = 0;
  private aboveBoundRows = 0;

  constructor(private readonly options: LedgerWriterOptions) {}

  /** Adopts the rows dead processes left in the buffer directory, and keeps looking for more. */
  async start(): Promise<void> {
    await this.adoptOrphans();
    this.orphanTimer = setInterval(() => void this.adoptOrphans(), ORPHAN_SCAN_MS);
    this.orphanTimer.unref();
  }

  /**
   * Buffers the rows on disk, then commits them in one statement with
   * `companions` (CTEs of the work they belong to); returns what `select`
   * selects from them. Throws when that statement cannot commit; the rows are
   * then committed alone, later.
   */
  async record<Row extends pg.QueryResultRow = Record<string, unknown>>(rows: LedgerRow[], companions: Sql[] = [], select?: Sql): Promise<Row | undefined> {
    // A buffer that cannot be written (disk full) must not stop the commit: the row is then only in memory until it commits.
    const buffered = this.options.journal.append(rows).catch((error: unknown) => this.options.log(`ledger: the disk buffer refused rows (${describe(error)})`));
    const statement = statementOf([sql`ledger_rows AS (${ledgerInsertSql(rows)})`, ...companions], select);
    let result: pg.QueryResult<Row>;
    try {
      result = await retryWithBackoff(() => this.execute<Row>(statement), isTransientDatabaseError, this.options.commitDeadlineMs);
    } catch (error) {
      await buffered;
      this.defer(rows);
      throw error;
    }
    // The acknowledgement follows the row into the file, never the other way round.
    await buffered;
    this.acknowledge(rows);
    // The database answers: replay what waits now rather than at the next backoff.
    if (this.backlog.size > 0) this.wake?.();
    return result.rows[0];
  }

  /** Rows waiting for the database (metrics, tests). */
  backlogSize(): number {
    return this.backlog.size;
  }

  /** Rows committed by this process since it started. */
  committed(): number {
    return this.committedRows;
  }

  /** Of those, rows whose provider report exceeded the call's bound (exceeds_bound). */
  committedAboveBound(): number {
    return this.aboveBoundRows;
  }

  /** Rows this process's disk buffer made durable, and the fsyncs that did (metrics). */
  bufferSyncs(): { syncs: number; rows: number } {
    return this.options.journal.syncs();
  }

  /** Waits until the backlog is empty (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  async close(): Promise<void> {
    if (this.orphanTimer) clearInterval(this.orphanTimer);
    const drained = this.flush();
    await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, CLOSE_FLUSH_MS).unref())]);
    this.closed = true;
    this.wake?.();
    await this.options.journal.close();
    if (this.backlog.size > 0) this.options.log(`ledger: ${this.backlog.size} rows stay in the disk buffer for the next start`);
  }

  private async adoptOrphans(): Promise<void> {
    try {
      const rows = await this.options.journal.adoptOrphans();
      if (rows.length === 0) return;
      this.options.log(`ledger: adopted ${rows.length} unacknowledged rows from the disk buffer`);
      this.defer(rows);
    } catch (error) {
      this.options.log(`ledger: could not scan the disk buffer (${(error as NodeJS.ErrnoException).code ?? "error"})`);
    }
  }

  private execute<Row extends pg.QueryResultRow = pg.QueryResultRow>(statement: Sql): Promise<pg.QueryResult<Row>> {
    return queryResult<Row>(this.options.pool, statement, this.options.statements);
  }

  private acknowledge(rows: LedgerRow[]): void {
    this.options.journal.acknowledge(rows.map((row) => row.id));
    this.committedRows += rows.length;
    for (const row of rows) if (row.exceeds_bound) this.aboveBoundRows++;
  }

  private defer(rows: LedgerRow[]): void {
    for (const row of rows) this.backlog.set(row.id, row);
    this.draining ??= this.drainBacklog().finally(() => (this.draining = null));
  }

  /** Inserts the backlog alone, batch by batch, with backoff while the database refuses. */
  private async drainBacklog(): Promise<void> {
    for (let failures = 0; this.backlog.size > 0 && !this.closed; ) {
      const batch = [...this.backlog.values()].slice(0, BACKLOG_BATCH);
      try {
        await this.insertAlone(batch);
        for (const row of batch) this.backlog.delete(row.id);
        this.acknowledge(batch);
        failures = 0;
      } catch (error) {
        if (failures === 0) this.options.log(`ledger: ${this.backlog.size} rows wait for the database (${describe(error)}); retrying with backoff`);
        await this.pause(backoffDelay(failures++, BACKLOG_BACKOFF));
      }
    }
  }

  /** A batch refused for a reason other than the connection is retried row by row, so one bad row cannot hold back the rest. */
  private async insertAlone(batch: LedgerRow[]): Promise<void> {
    try {
      await this.execute(ledgerInsertSql(batch));
    } catch (error) {
      if (isTransientDatabaseError(error) || batch.length === 1) throw error;
      const committed: LedgerRow[] = [];
      for (const row of batch) {
        try {
          await this.execute(ledgerInsertSql([row]));
          committed.push(row);
        } catch (rowError) {
          this.options.log(`ledger: row ${row.id} refused (${describe(rowError)}); kept for retry`);
        }
      }
      for (const row of committed) this.backlog.delete(row.id);
      this.acknowledge(committed);
      throw error;
    }
  }

  /** A backoff pause that `wake` cuts short. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.wake = done;
    });
  }
}

function describe(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : "no connection";
}
