// The one Prisma client, over a pg pool through the driver adapter.
//
// Safe behind any transaction pooler: the adapter sends unnamed statements (we
// never set a statementNameGenerator), our hot statements are named only when
// the operator declares the pool connection direct or session-pooled
// (DATABASE_POOL_MODE; db/statements.ts), and the code relies on no session
// state (no SET, no session advisory locks, no LISTEN, no temporary tables);
// everything that must share a connection runs inside one transaction.
import pg from "pg";
import { UtcInstantPrismaPg } from "./db/utcInstantAdapter.ts";
import { PrismaClient } from "./generated/prisma/client.ts";
import type { DatabaseConfig } from "./config/env.ts";
import { HotStatements } from "./db/statements.ts";
import { poolTypeParsers } from "./db/timestamptz.ts";
import { connectionErrorLog } from "./db/connectionErrors.ts";
import { tracedPool } from "./observability/tracedPool.ts";
import { logger } from "./observability/logger.ts";

export type Db = PrismaClient;

export interface DbHandle {
  prisma: Db;
  pool: pg.Pool;
  /** Query configs for the hot statements (named only on a connection declared direct or session-pooled). */
  statements: HotStatements;
  close(): Promise<void>;
}

export interface DbOptions extends Pick<DatabaseConfig, "poolUrl" | "poolMax">, Partial<Pick<DatabaseConfig, "poolMode">> {
  /**
   * The server is one session (the embedded PGlite): every connection meets
   * the statements prepared by the ones before it, so nothing is prepared
   * under a name (a replacement connection would collide with it), and the
   * pool keeps its connection instead of recycling it when idle.
   */
  singleSession?: boolean;
}

/**
 * How long an idle connection is kept. A direct connection carries what a new
 * one must build again: its TLS session, the backend's caches and the
 * statements prepared on it. Closing it after half a minute made the first
 * traffic after a lull run on cold connections (the turns benchmark's first
 * round after an idle server, docs/development.md). Through a pooler, client
 * connections hold the pooler's slots, so they are given back sooner.
 */
const IDLE_TIMEOUT_MS = { direct: 300_000, pooled: 30_000 } as const;

/** Statements stay unnamed unless the connection is known to be direct. */
export function createDb(database: DbOptions): DbHandle {
  // With tracing on, Prisma and the turn engine get a pool whose statements open spans.
  const pool = tracedPool(new pg.Pool({
    connectionString: database.poolUrl,
    max: database.poolMax,
    idleTimeoutMillis: database.singleSession ? 0 : database.poolMode === "direct" ? IDLE_TIMEOUT_MS.direct : IDLE_TIMEOUT_MS.pooled,
    connectionTimeoutMillis: 10_000,
    types: poolTypeParsers,
  }));
  const logConnectionError = connectionErrorLog();
  // A connection dying (database restart, failover, pooler recycle, a terminated backend) must
  // never crash the process: pg emits 'error' on the pool for idle clients and on the client
  // itself when it is checked out; both are handled. The query that was running fails on its
  // own; the broken client is discarded when released.
  pool.on("error", logConnectionError);
  pool.on("connect", (client) => client.on("error", logConnectionError));
  const prisma = new PrismaClient({ adapter: new UtcInstantPrismaPg(pool) });
  return {
    prisma,
    pool,
    statements: new HotStatements(database.poolMode !== undefined && database.poolMode !== "transaction" && !database.singleSession, (message) => logger.warn({ component: "database" }, message)),
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}
