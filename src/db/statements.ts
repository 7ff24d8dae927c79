// Statements sent on every turn (the turn engine) or every rooms page. When
// the operator declares the pool connection direct or session-pooled
// (DATABASE_POOL_MODE), they are named, so PostgreSQL parses and plans each
// statement shape once per connection instead of on every execution (for the
// larger ones planning costs more than running them). Behind a transaction
// pooler, which cannot keep a prepared statement from one transaction to the
// next, they stay unnamed: the default for DATABASE_POOL_URL. A declaration
// that turns out wrong (a named statement meets "already exists" or "does not
// exist") is logged once and the server goes on with unnamed statements.
import { createHash } from "node:crypto";
import type pg from "pg";

/** The shapes are a small fixed set; should that ever change, the rest go unnamed rather than grow every connection's cache. */
const MAX_NAMED_SHAPES = 256;

/** duplicate_prepared_statement, invalid_sql_statement_name: a pooler handed the connection's statements to another client, or lost them. */
const LOST_PREPARED_STATEMENT = new Set(["42P05", "26000"]);

export function isLostPreparedStatement(error: unknown): boolean {
  return LOST_PREPARED_STATEMENT.has((error as { code?: unknown } | null)?.code as string);
}

export class HotStatements {
  /**
   * Named shapes by their text's length, then the text itself. The texts are long (up to about
   * 5,000 characters, about 21,000 a turn) and built anew on every call, so a Map keyed by the text
   * hashed every character of each: 7.4 µs for a 3,200-character text, against 1.8 µs for the
   * length and one comparison.
   */
  private readonly namesByLength = new Map<number, { text: string; name: string }[]>();
  private namedShapes = 0;

  /** `warn`: told once, when named statements turn out unsafe on this connection. */
  constructor(
    private namedAllowed: boolean,
    private readonly warn: (message: string) => void = () => undefined,
  ) {}

  get named(): boolean {
    return this.namedAllowed;
  }

  /** The query config for `text`: named when allowed, so each connection prepares it once. */
  config(text: string, values: readonly unknown[]): pg.QueryConfig {
    const name = this.namedAllowed ? this.nameOf(text) : undefined;
    return name === undefined ? { text, values: [...values] } : { name, text, values: [...values] };
  }

  /**
   * Whether `error`, met by a named statement, means the pooler does not keep
   * prepared statements; then every statement goes unnamed from now on (said
   * once), and the caller sends its work again.
   */
  recovers(error: unknown, config: pg.QueryConfig): boolean {
    if (config.name === undefined || !isLostPreparedStatement(error)) return false;
    if (this.namedAllowed) {
      this.namedAllowed = false;
      this.warn(
        `A prepared statement was lost between transactions (PostgreSQL ${(error as { code: string }).code}): DATABASE_POOL_URL goes through a transaction pooler. ` +
          "Serving on with unnamed statements; set DATABASE_POOL_MODE=transaction for this connection.",
      );
    }
    return true;
  }

  private nameOf(text: string): string | undefined {
    const sameLength = this.namesByLength.get(text.length);
    if (sameLength) for (const shape of sameLength) if (shape.text === text) return shape.name;
    if (this.namedShapes >= MAX_NAMED_SHAPES) return undefined;
    const name = `pantheon_${createHash("sha256").update(text).digest("hex").slice(0, 32)}`;
    if (sameLength) sameLength.push({ text, name });
    else this.namesByLength.set(text.length, [{ text, name }]);
    this.namedShapes += 1;
    return name;
  }
}
