// The credit rules that run inside PostgreSQL (SPEC 14): each function's
// whole definition is a readable file in ./sql/, in dependency order here.
// A migration that changes one copies its file (`npm run credits:sql` prints
// them all); test/creditSql.test.ts checks that the newest migration defining
// each function defines exactly its file, and that the migrated database runs
// exactly that body. Gate A checks that each function and trigger exists.
//
// Which TypeScript function reaches each rule:
//   credit_available            every read of a wallet's available credits (credits/wallet.ts)
//   credit_room_available       a room budget's remaining credits (credits/roomBudget.ts)
//   credit_wallet_current       openWallet (credits/wallet.ts); every function below opens the wallet through it
//   credit_hold_call            holdForCall (credits/callHolds.ts): a turn's first call at accept, each later call before it starts,
//                               a metered preview's call at its reservation
//   credit_hold_turn_in_room    none: the previous release's whole-turn hold, for its instances during a rolling deploy
//   credit_debit_ledger_row     the trigger on llm_call_events: every ledger row the ledger writer commits (metering/ledgerWriter.ts)
//   credit_release_hold         releaseHold (credits/callHolds.ts): a preview's hold once its row is recorded; a turn's ending
//                               statement (turns/stepSql.ts, endTurnStatement), for the balance its ending event carries;
//                               and the two below
//   credit_release_stale_holds  releaseStaleHolds (credits/callHolds.ts): the lease sweep (turns/service.ts), for previews whose process died
//   credit_release_turn_hold    the triggers on turns: a turn's end, however it is written (turns/stepSql.ts, turns/leaseSql.ts)
//   credit_grant                recordGrant (credits/adminSql.ts)
//   credit_set_plan             setUserPlan (credits/adminSql.ts)
//   credit_wallet_low_balance   the trigger on credit_wallets: any change of allowance, granted or plan
//   credit_transactions_append_only  the trigger on credit_transactions
import { readFile } from "node:fs/promises";

export interface CreditTrigger {
  name: string;
  table: string;
}

export interface CreditSqlFunction {
  name: string;
  /** The triggers that run it, when it is a trigger function. */
  triggers: CreditTrigger[];
}

export const CREDIT_SQL_FUNCTIONS: readonly CreditSqlFunction[] = [
  { name: "credit_available", triggers: [] },
  { name: "credit_room_available", triggers: [] },
  { name: "credit_wallet_current", triggers: [] },
  { name: "credit_hold_call", triggers: [] },
  { name: "credit_hold_turn_in_room", triggers: [] },
  { name: "credit_debit_ledger_row", triggers: [{ name: "credit_debit_ledger_row", table: "llm_call_events" }] },
  { name: "credit_release_hold", triggers: [] },
  { name: "credit_release_stale_holds", triggers: [] },
  {
    name: "credit_release_turn_hold",
    triggers: [
      { name: "credit_release_turn_hold_on_end", table: "turns" },
      { name: "credit_release_turn_hold_on_delete", table: "turns" },
    ],
  },
  { name: "credit_grant", triggers: [] },
  { name: "credit_set_plan", triggers: [] },
  { name: "credit_wallet_low_balance", triggers: [{ name: "credit_wallet_low_balance", table: "credit_wallets" }] },
  { name: "credit_transactions_append_only", triggers: [{ name: "credit_transactions_append_only", table: "credit_transactions" }] },
];

/** The file that defines the function, as a migration includes it. */
export function creditSqlSource(name: string): Promise<string> {
  return readFile(new URL(`./sql/${name}.sql`, import.meta.url), "utf8");
}
