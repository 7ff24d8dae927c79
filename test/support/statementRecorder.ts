// Records the text of every statement this process's pg clients send (an
// in-process server's included), for tests that count round trips. One
// recorder at a time; `stop` puts pg back as it was.
import pg from "pg";

export interface StatementRecorder {
  /** What was sent since the last clear, in order. */
  readonly statements: string[];
  /** The same, with each statement's parameter values. */
  readonly sent: { text: string; values: unknown[] }[];
  clear(): void;
  stop(): void;
}

/** Starts recording; statements sent by `unrecorded` (a test's own client) are left out. */
export function recordStatements(unrecorded?: pg.Client): StatementRecorder {
  const statements: string[] = [];
  const sent: { text: string; values: unknown[] }[] = [];
  const originalQuery = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    if (this !== unrecorded) {
      const first = args[0];
      const text = typeof first === "string" ? first : String((first as { text?: string })?.text ?? "");
      statements.push(text);
      sent.push({ text, values: (typeof first === "string" ? args[1] : (first as { values?: unknown[] })?.values) as unknown[] ?? [] });
    }
    return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof originalQuery;
  return {
    statements,
    sent,
    clear: () => {
      statements.length = 0;
      sent.length = 0;
    },
    stop: () => void (pg.Client.prototype.query = originalQuery),
  };
}
