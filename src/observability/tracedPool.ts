// SQL spans, when tracing is on. Prisma (through its adapter) and the turn
// engine's hand-written statements share one pg pool, so the pool they are
// given is this wrapper: `pool.query` and the `query` of every client checked
// out with `pool.connect()` (transactions) open a span per statement. The span
// starts at the call, in the caller's context, so it nests under the caller's
// operation or turn even when the statement waits for a connection (pg-pool
// hands a freed connection over in the releasing caller's async context).
// Statements run outside any span (readiness checks, lease renewals on a
// timer) get none: they would each be a trace of their own, noise.
// Recorded: the statement text, never its parameter values, and with its
// literals replaced by `?` (a few hot statements carry ids and lock keys as
// literals, built from checked values to save a round trip). Tracing off: the
// pool itself is returned, untouched.
import { SpanKind, trace, type Tracer } from "@opentelemetry/api";
import type pg from "pg";
import { activeTracer } from "./tracing.ts";
import { endFailed } from "./spans.ts";

const MAX_STATEMENT_CHARS = 1000;
const DB_SYSTEM = "postgresql";
/** '…' strings (with '' escapes) and numbers that are not part of a name or a $n placeholder. */
const LITERALS = /'(?:[^']|'')*'|(?<![\w$])\d+(?:\.\d+)?\b/g;

type Query = (...args: unknown[]) => unknown;

function statementText(statement: unknown): string | undefined {
  if (typeof statement === "string") return statement;
  const text = (statement as { text?: unknown } | null)?.text;
  return typeof text === "string" ? text : undefined;
}

/** The statement's first keyword (SELECT, INSERT, BEGIN, WITH …), or the database system when there is none. */
function spanName(text: string): string {
  return /^\s*([A-Za-z]+)/.exec(text)?.[1]?.toUpperCase() ?? DB_SYSTEM;
}

function traced(tracer: Tracer, query: Query): Query {
  return (...args) => {
    const text = statementText(args[0]);
    // Callback and streaming (submittable) forms are passed through: none of our code uses them.
    if (text === undefined || typeof args.at(-1) === "function" || !trace.getActiveSpan()) return query(...args);
    const attributes = { "db.system": DB_SYSTEM, "db.statement": text.replace(LITERALS, "?").slice(0, MAX_STATEMENT_CHARS) };
    const span = tracer.startSpan(spanName(text), { kind: SpanKind.CLIENT, attributes });
    let pending: Promise<unknown>;
    try {
      pending = query(...args) as Promise<unknown>;
    } catch (error) {
      endFailed(span, error);
      throw error;
    }
    return pending.then(
      (result) => {
        span.end();
        return result;
      },
      (error: unknown) => {
        endFailed(span, error);
        throw error;
      },
    );
  };
}

/** Everything but `query` (and `connect`) reaches the target itself, bound to it. */
function withQuery<T extends object>(target: T, query: Query, connect?: Query): T {
  return new Proxy(target, {
    get(object, property) {
      if (property === "query") return query;
      if (property === "connect" && connect) return connect;
      const value = Reflect.get(object, property, object) as unknown;
      return typeof value === "function" ? (value as Query).bind(object) : value;
    },
  });
}

export function tracedPool(pool: pg.Pool): pg.Pool {
  const tracer = activeTracer();
  if (!tracer) return pool;
  const tracedClient = (client: pg.PoolClient) => withQuery(client, traced(tracer, client.query.bind(client) as Query));
  const connect: Query = (...args) => (args.length > 0 ? (pool.connect as Query)(...args) : pool.connect().then(tracedClient));
  return withQuery(pool, traced(tracer, pool.query.bind(pool) as Query), connect);
}
