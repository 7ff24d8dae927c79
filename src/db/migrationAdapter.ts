// The pg driver adapter the Prisma CLI uses for migrations, made atomic.
//
// @prisma/adapter-pg's `executeScript` splits a migration on every ";" and runs
// the pieces one by one: a PL/pgSQL body breaks it, and a failing statement
// leaves the earlier ones applied. Sending the whole script as one simple-query
// message lets PostgreSQL parse it properly and run it as one implicit
// transaction, as the native schema engine does.
import type pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";

interface AdapterErrorMapper {
  onError(error: unknown): never;
}

export class AtomicMigrationPrismaPg extends PrismaPg {
  override async connect() {
    const adapter = await super.connect();
    adapter.executeScript = async (script: string) => {
      const pool = adapter.underlyingDriver() as pg.Pool;
      try {
        await pool.query(script);
      } catch (error) {
        (adapter as unknown as AdapterErrorMapper).onError(error);
      }
    };
    return adapter;
  }
}
