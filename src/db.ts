// The one Prisma client, over a pg pool through the driver adapter.
//
// Safe behind Supabase's transaction pooler (port 6543): the adapter sends
// unnamed statements (we never set a statementNameGenerator), our hot
// statements are named only on a direct connection (db/statements.ts), and the code
// relies on no session state (no SET, no session advisory locks, no LISTEN);
// everything that must share a connection runs inside one transaction.
import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/prisma/client.ts";
import type { DatabaseConfig } from "./config/env.ts";
import { HotStatements } from "./db/statements.ts";

export type Db = PrismaClient;

export interface DbHandle {
  prisma: Db;
  pool: pg.Pool;
  /** Query configs for the hot statements (named unless behind a transaction pooler). */
  statements: HotStatements;
  close(): Promise<void>;
}

/** Statements stay unnamed unless the connection is known to be direct. */
export function createDb(database: Pick<DatabaseConfig, "poolUrl" | "poolMax"> & Partial<Pick<DatabaseConfig, "behindTransactionPooler">>): DbHandle {
  const pool = new pg.Pool({
    connectionString: database.poolUrl,
    max: database.poolMax,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
  });
  // An idle client dying (database restart, pooler recycle) must not crash the process.
  pool.on("error", () => undefined);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    prisma,
    pool,
    statements: new HotStatements(database.behindTransactionPooler === false),
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}
