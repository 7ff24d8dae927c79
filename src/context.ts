// What every request carries: the viewer, the database, the configuration and
// the readiness gates. Nothing else.
import type { AppConfig } from "./config/env.ts";
import type { Db } from "./db.ts";
import type { WalletEventFeed } from "./credits/walletEventFeed.ts";
import type pg from "pg";
import type { HotStatements } from "./db/statements.ts";
import type { Readiness } from "./gates/readiness.ts";
import type { Admission } from "./gates/admission.ts";
import type { TurnService } from "./turns/service.ts";
import type { LedgerWriter } from "./metering/ledgerWriter.ts";
import type { Metrics } from "./observability/metrics.ts";
import type { RequestRecord } from "./observability/requestContext.ts";

export interface Viewer {
  /** users.id: the Supabase Auth `sub` claim. */
  id: string;
  adminRole: "owner" | "analyst" | null;
  /** Gate C: may this user use the API at the current rollout stage? (Never while suspended.) */
  admitted: boolean;
  /** An owner suspended the account (users.suspended_at). */
  suspended: boolean;
}

export interface AppServices {
  config: AppConfig;
  prisma: Db;
  /** The pg pool under Prisma, for hot reads written as one SQL statement. */
  pool: pg.Pool;
  /** How those hot statements are sent (prepared unless behind a transaction pooler). */
  statements: HotStatements;
  readiness: Readiness;
  admission: Admission;
  /** The turn engine: accepts messages, runs turns, carries their events. */
  turns: TurnService;
  /** Every usage-ledger row is recorded through it (disk buffer, retries). */
  ledger: LedgerWriter;
  metrics: Metrics;
  /** Low-balance events for walletEvents subscribers on this instance. */
  walletEvents: WalletEventFeed;
}

export interface Context extends AppServices {
  /** Null when the request carried no (valid) credentials. */
  viewer: Viewer | null;
  request: Request;
  /** The request's log record (id, operation, viewer); absent when the app is called without the HTTP server (tests' app.fetch). */
  requestRecord?: RequestRecord;
  /** Drops this instance's cached account state of a user (after an owner changed it); other instances catch up within 30 s. */
  forgetUser(userId: string): void;
}
