// Records every statement this process's pg clients send (an in-process
// server's included), with its parameter values, for tests that count round
// trips or read a statement's plan. One recorder at a time; `stop` puts pg
// back as it was.
import pg from "pg";

export interface SentStatement {
  text: string;
  values: unknown[];
}

export interface StatementRecorder {
  /** What was sent since the last clear, in order. */
  readonly sent: SentStatement[];
  /** The texts of `sent`. */
  readonly statements: string[];
  clear(): void;
  stop(): void;
}

/** Starts recording; statements sent by `unrecorded` (a test's own client) are left out. */
export function recordStatements(unrecorded?: pg.Client): StatementRecorder {
  const sent: SentStatement[] = [];
  const originalQuery = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    if (this !== unrecorded) {
      const first = args[0];
      const config = typeof first === "string" ? { text: first, values: args[1] } : (first as { text?: string; values?: unknown[] } | undefined);
      sent.push({ text: String(config?.text ?? ""), values: (config?.values as unknown[] | undefined) ?? [] });
    }
    return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof originalQuery;
  return {
    sent,
    get statements() {
      return sent.map((statement) => statement.text);
    },
    clear: () => void (sent.length = 0),
    stop: () => void (pg.Client.prototype.query = originalQuery),
  };
}
