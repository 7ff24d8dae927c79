// Optional OpenTelemetry traces, sent over OTLP/HTTP (JSON) when an endpoint
// is configured. Off by default: the SDK is then never even loaded, and every
// seam (tracedPool.ts, spans.ts, http/tracingPlugin.ts) finds `activeTracer()`
// undefined and does nothing more. One process-wide tracer, like the logger:
// set up once at start, and flushed when the runtime closes.
import { context, trace, type Tracer } from "@opentelemetry/api";
import type { AppConfig } from "../config/env.ts";
import { errorFields, logger } from "./logger.ts";

const INSTRUMENTATION_SCOPE = "pantheon-api";
/** Closing waits this long at most for the last spans: an unreachable collector must not hold up a shutdown. */
const FLUSH_TIMEOUT_MS = 5_000;

let tracer: Tracer | undefined;
let stop: (() => Promise<void>) | undefined;

/** The tracer when tracing is on; undefined (the one check on hot paths) when it is off. */
export function activeTracer(): Tracer | undefined {
  return tracer;
}

export async function startTracing(config: AppConfig["tracing"]): Promise<void> {
  if (!config || tracer) return;
  const [{ NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }, { setGlobalErrorHandler }, { ATTR_SERVICE_NAME }] = await Promise.all([
    import("@opentelemetry/sdk-trace-node"),
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/core"),
    import("@opentelemetry/semantic-conventions"),
  ]);
  // Export failures (collector down or refusing) surface here, never in a request: the
  // batch is dropped, the first failure is logged, and later ones are not, so a lost
  // collector cannot flood the logs.
  let reported = false;
  setGlobalErrorHandler((error) => {
    if (reported) return;
    reported = true;
    // The exporter's error carries the collector's HTTP status as a numeric code.
    const status = (error as { code?: unknown } | null)?.code;
    logger.warn({ component: "tracing", ...errorFields(error), ...(typeof status === "number" ? { status } : {}) }, "trace export failed; further tracing errors are not logged");
  });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName }),
    // The batch processor also reads OTEL_BSP_* (delay, queue and batch sizes), the exporter OTEL_EXPORTER_OTLP_* (headers, timeout).
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: config.tracesUrl }))],
  });
  // The context manager (AsyncLocalStorage) is what nests a statement's span under the operation or turn it runs for.
  // No propagator: trace context is neither taken from clients nor sent to providers.
  provider.register({ propagator: null });
  tracer = trace.getTracer(INSTRUMENTATION_SCOPE);
  stop = async () => {
    await Promise.race([provider.shutdown(), new Promise((resolve) => setTimeout(resolve, FLUSH_TIMEOUT_MS).unref())]).catch(() => undefined);
    trace.disable();
    context.disable();
  };
}

/** Flushes the spans still buffered and turns tracing off (the runtime's close). */
export async function stopTracing(): Promise<void> {
  const stopping = stop;
  tracer = undefined;
  stop = undefined;
  await stopping?.();
}
