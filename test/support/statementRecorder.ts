// Records the text of every statement this process's pg clients send (an
// in-process server's included), for tests that count round trips. One
// recorder at a time; `stop` puts pg back as it was.
import pg from "pg";

export interface StatementRecorder {
  /** What was sent since the last clear, in order. */
  readonly statements: string[];
  clear(): void;
  stop(): void;
}

/** Starts recording; statements sent by `unrecorded` (a test's own client) are left out. */
export function recordStatements(unrecorded?: pg.Client): StatementRecorder {
  const statements: string[] = [];
  const originalQuery = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    if (this !== unrecorded) {
      const first = args[0];
      statements.push(typeof first === "string" ? first : String((first as { text?: string })?.text ?? ""));
    }
    return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof originalQuery;
  return {
    statements,
    clear: () => void (statements.length = 0),
    stop: () => void (pg.Client.prototype.query = originalQuery),
  };
}
