// Statements sent on every turn (the turn engine) or every rooms page. On a
// direct connection they are named, so PostgreSQL parses and plans each statement shape once per
// connection instead of on every execution (for the larger ones planning
// costs more than running them). Behind a transaction pooler, which cannot
// keep a prepared statement from one transaction to the next, they stay
// unnamed.
import { createHash } from "node:crypto";
import type pg from "pg";

/** The shapes are a small fixed set; should that ever change, the rest go unnamed rather than grow every connection's cache. */
const MAX_NAMED_SHAPES = 256;

export class HotStatements {
  private readonly names = new Map<string, string>();

  constructor(readonly named: boolean) {}

  /** The query config for `text`: named when allowed, so each connection prepares it once. */
  config(text: string, values: readonly unknown[]): pg.QueryConfig {
    const name = this.named ? this.nameOf(text) : undefined;
    return name === undefined ? { text, values: [...values] } : { name, text, values: [...values] };
  }

  private nameOf(text: string): string | undefined {
    let name = this.names.get(text);
    if (name === undefined && this.names.size < MAX_NAMED_SHAPES) {
      name = `pantheon_${createHash("sha256").update(text).digest("hex").slice(0, 32)}`;
      this.names.set(text, name);
    }
    return name;
  }
}
