// Low-balance events as stored in wallet_events (written by the wallet
// trigger of the credit controls migration, once per threshold crossing).
import { sql } from "../db/sql.ts";

export interface WalletEventRecord {
  /** A bigint, as text: increasing per user in commit order (each is written under the wallet's row lock). */
  id: string;
  userId: string;
  kind: "low_balance";
  /** allowance + granted right after the change that crossed the line. */
  balance: string;
  threshold: string;
  plan: string;
  createdAt: Date;
}

/** The columns of a WalletEventRecord, from wallet_events. */
export const WALLET_EVENT_COLUMNS = sql`id::text, user_id AS "userId", kind, balance::text, threshold::text, plan, created_at AS "createdAt"`;
