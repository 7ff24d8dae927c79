// The `llm_call_events` contract of SPEC section 4, as data. The migration
// test and Gate A both compare the live database against this one definition.
// Types are PostgreSQL's format_type() spelling.

export const LEDGER_TABLE = "llm_call_events";

export type DeleteRule = "RESTRICT" | "SET NULL" | "CASCADE" | "NO ACTION";

export interface ContractColumn {
  name: string;
  type: string;
  nullable: boolean;
  /** Expected default expression, normalized (see normalizeDefault), when the contract names one. */
  default?: string;
}

export interface ContractForeignKey {
  column: string;
  targetTable: string;
  targetColumn: string;
  onDelete: DeleteRule;
}

export interface ContractIndex {
  name: string;
  columns: string[];
  unique: boolean;
  /** Partial index predicate, normalized (see normalizePredicate). */
  predicate?: string;
}

export interface TableContract {
  table: string;
  primaryKey: string[];
  columns: ContractColumn[];
  foreignKeys: ContractForeignKey[];
  /** Columns that must deliberately have no foreign key. */
  noForeignKey: string[];
  indexes: ContractIndex[];
}

const UUID = "uuid";
const column = (name: string, type: string, nullable: boolean, defaultExpr?: string): ContractColumn =>
  defaultExpr === undefined ? { name, type, nullable } : { name, type, nullable, default: defaultExpr };

export const ledgerContract: TableContract = {
  table: LEDGER_TABLE,
  primaryKey: ["id"],
  columns: [
    column("id", UUID, false),
    column("user_id", UUID, false),
    column("room_id", UUID, true),
    column("direct_session_id", "character varying(64)", true),
    column("session_id", UUID, true),
    column("turn_id", UUID, true),
    column("step_id", UUID, true),
    column("agent_id", "character varying(64)", true),
    column("provider", "character varying(32)", false),
    column("model_alias", "character varying(32)", false),
    column("provider_model", "character varying(128)", false),
    column("input_tokens_fresh", "integer", false),
    column("input_tokens_cached", "integer", false),
    column("output_tokens", "integer", false),
    column("total_tokens", "integer", false),
    column("oe_tokens_computed", "numeric(20,4)", false),
    column("provider_cost_usd", "numeric(20,8)", false),
    column("credits_burned", "numeric(20,4)", false),
    column("latency_ms", "integer", true),
    column("status", "character varying(24)", false),
    column("pricing_version", "character varying(32)", false),
    column("request_id", "character varying(128)", true),
    column("created_at", "timestamp with time zone", false, "now()"),
  ],
  foreignKeys: [
    { column: "user_id", targetTable: "users", targetColumn: "id", onDelete: "RESTRICT" },
    { column: "room_id", targetTable: "rooms", targetColumn: "id", onDelete: "SET NULL" },
    { column: "session_id", targetTable: "sessions", targetColumn: "id", onDelete: "SET NULL" },
    { column: "turn_id", targetTable: "turns", targetColumn: "id", onDelete: "SET NULL" },
    { column: "step_id", targetTable: "turn_steps", targetColumn: "id", onDelete: "SET NULL" },
  ],
  noForeignKey: ["direct_session_id", "agent_id"],
  indexes: [
    { name: "idx_llm_call_events_user_created_at", columns: ["user_id", "created_at"], unique: false },
    { name: "idx_llm_call_events_session_created_at", columns: ["session_id", "created_at"], unique: false },
    { name: "idx_llm_call_events_turn_id", columns: ["turn_id"], unique: false },
    { name: "idx_llm_call_events_model_alias_created_at", columns: ["model_alias", "created_at"], unique: false },
    { name: "idx_llm_call_events_created_at", columns: ["created_at"], unique: false },
    { name: "uq_llm_call_events_request_id", columns: ["request_id"], unique: true, predicate: "request_id is not null" },
  ],
};

/** timestamptz(6) is timestamptz: 6 is PostgreSQL's default (and maximum) precision. */
export function normalizeType(type: string): string {
  return type.replace(/^(timestamp|time)\(6\)/, "$1");
}

/** `(request_id IS NOT NULL)` and `request_id IS NOT NULL` compare equal. */
export function normalizePredicate(predicate: string): string {
  return predicate.replace(/[()"]/g, "").replace(/\s+/g, " ").trim().toLowerCase();
}

/** PostgreSQL spells now() as CURRENT_TIMESTAMP when the column was declared with it. */
export function normalizeDefault(expression: string): string {
  const lowered = expression.trim().toLowerCase();
  return lowered === "current_timestamp" ? "now()" : lowered;
}
