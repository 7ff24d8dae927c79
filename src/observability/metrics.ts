// Prometheus metrics (prom-client), one registry per runtime. Counters and
// histograms are updated where things happen (HTTP, GraphQL, turns, provider
// calls); gauges read their source when scraped (pool, gates, disk-buffer
// backlog), so nothing polls.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type pg from "pg";

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface MetricSources {
  pool: pg.Pool;
  /** The gates as they stand (gates/readiness.ts). */
  readiness: { gates(): readonly { gate: string; required: boolean; ok: boolean }[] };
  ledger: { backlogSize(): number; committed(): number; committedAboveBound(): number; bufferSyncs(): { syncs: number; rows: number } };
}

export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Histogram({
    name: "pantheon_http_request_duration_seconds",
    help: "HTTP requests by method, route and status (event streams: their lifetime).",
    labelNames: ["method", "route", "status"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly graphqlOperations = new Histogram({
    name: "pantheon_graphql_operation_duration_seconds",
    help: "GraphQL operation execution time by operation name and type.",
    labelNames: ["operation", "type"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly graphqlExecutions = new Counter({
    name: "pantheon_graphql_executions_total",
    help: "GraphQL operations executed while GRAPHQL_EXECUTION=compiled, by executor (standard: a document that did not compile) and operation type.",
    labelNames: ["executor", "type"] as const,
    registers: [this.registry],
  });
  readonly graphqlHttpRequests = new Counter({
    name: "pantheon_graphql_http_requests_total",
    help: "Requests to /graphql by the path that answered them: direct (a plain JSON query or mutation, or a subscription asked for with Accept: text/event-stream; src/http/directJson.ts) or yoga (everything else, and all requests while GRAPHQL_HTTP_PATH=yoga).",
    labelNames: ["path"] as const,
    registers: [this.registry],
  });
  /** Documents held compiled (src/http/compiledExecution.ts), read at scrape time. */
  private compiledDocuments: () => number = () => 0;
  readonly turns = new Counter({ name: "pantheon_turns_total", help: "Turns ended, by mode and status.", labelNames: ["mode", "status"] as const, registers: [this.registry] });
  readonly llmCalls = new Counter({ name: "pantheon_llm_calls_total", help: "Provider calls by model alias and ledger status.", labelNames: ["model_alias", "status"] as const, registers: [this.registry] });
  readonly llmLatency = new Histogram({
    name: "pantheon_llm_call_duration_seconds",
    help: "Provider call latency by model alias and ledger status.",
    labelNames: ["model_alias", "status"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly llmCost = new Counter({ name: "pantheon_llm_cost_usd_total", help: "Provider-reported cost in USD by model alias.", labelNames: ["model_alias"] as const, registers: [this.registry] });
  readonly eventStreams = new Gauge({ name: "pantheon_sse_streams_open", help: "Open server-sent event streams (turnEvents subscriptions).", registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "pantheon_" });
  }

  observeLlmCall(attempt: { modelAlias: string; status: string; latencyMs: number; usage: { costUsd: string | undefined } }): void {
    const labels = { model_alias: attempt.modelAlias, status: attempt.status };
    this.llmCalls.inc(labels);
    this.llmLatency.observe(labels, attempt.latencyMs / 1000);
    const cost = Number(attempt.usage.costUsd ?? 0);
    if (Number.isFinite(cost) && cost > 0) this.llmCost.inc({ model_alias: attempt.modelAlias }, cost);
  }

  /** The compiled-document cache reports its size here (one per app). */
  observeCompiledDocuments(size: () => number): void {
    this.compiledDocuments = size;
  }

  /** Gauges that read the runtime's state at scrape time. */
  observe(sources: MetricSources): void {
    const { pool, readiness, ledger } = sources;
    new Gauge({
      name: "pantheon_db_pool_connections",
      help: "Database pool connections by state (in use, idle, waiting requests).",
      labelNames: ["state"] as const,
      registers: [this.registry],
      collect() {
        this.set({ state: "in_use" }, pool.totalCount - pool.idleCount);
        this.set({ state: "idle" }, pool.idleCount);
        this.set({ state: "waiting" }, pool.waitingCount);
      },
    });
    new Gauge({
      name: "pantheon_gate_open",
      help: "1 when the gate passes, 0 when closed; `required` says whether /readyz needs it.",
      labelNames: ["gate", "required"] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const state of readiness.gates()) this.set({ gate: state.gate, required: String(state.required) }, state.ok ? 1 : 0);
      },
    });
    const compiledDocuments = () => this.compiledDocuments();
    new Gauge({
      name: "pantheon_graphql_compiled_documents",
      help: "GraphQL documents held compiled, at most 1,000 (least recently used out first).",
      registers: [this.registry],
      collect() {
        this.set(compiledDocuments());
      },
    });
    new Gauge({
      name: "pantheon_ledger_backlog_rows",
      help: "Ledger rows answered but not yet committed (in the disk buffer, retried until the database takes them).",
      registers: [this.registry],
      collect() {
        this.set(ledger.backlogSize());
      },
    });
    this.counterOf("pantheon_ledger_rows_written_total", "Ledger rows this process committed.", () => ledger.committed());
    this.counterOf("pantheon_ledger_buffer_syncs_total", "fsyncs of the disk buffer that made ledger rows durable; concurrent calls' rows share one.", () => ledger.bufferSyncs().syncs);
    this.counterOf("pantheon_ledger_buffer_rows_total", "Ledger rows the disk buffer made durable (rows ÷ syncs: rows per fsync).", () => ledger.bufferSyncs().rows);
    this.counterOf(
      "pantheon_llm_calls_above_bound_total",
      "Ledger rows this process committed whose provider report exceeded the call's bound (SPEC 14): stored as reported, listed by callsAboveBound.",
      () => ledger.committedAboveBound(),
    );
  }

  /** A counter that follows a running total kept elsewhere, read at scrape time. */
  private counterOf(name: string, help: string, total: () => number): void {
    let reported = 0;
    new Counter({
      name,
      help,
      registers: [this.registry],
      collect() {
        const now = total();
        this.inc(now - reported);
        reported = now;
      },
    });
  }
}
