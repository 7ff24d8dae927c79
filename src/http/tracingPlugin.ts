// One span per GraphQL operation (each operation of a batch), when tracing is
// on; absent otherwise. Yoga's `operation` instrumentation wraps everything an
// operation does (context with its viewer lookup, validation, execution), and
// running it inside the span's context is what makes the operation's SQL spans
// (and the turn it may start) its children. The span is named once the document
// is known, `mutation SendMessage` as OpenTelemetry's GraphQL conventions name
// it; a document that fails to parse or validate keeps `GraphQL Operation`.
import { context, SpanKind, SpanStatusCode, trace, type Tracer } from "@opentelemetry/api";
import type { Plugin } from "graphql-yoga";
import type { DocumentNode } from "graphql";
import { activeTracer } from "../observability/tracing.ts";
import { endFailed } from "../observability/spans.ts";
import { recordOf } from "../observability/requestContext.ts";
import { describeOperation } from "./observabilityPlugin.ts";

const UNNAMED_OPERATION = "GraphQL Operation";

function runInSpan(tracer: Tracer, payload: { context?: unknown }, wrapped: () => unknown): Promise<void> {
  const requestId = recordOf((payload.context as { req?: object } | undefined)?.req)?.requestId;
  const span = tracer.startSpan(UNNAMED_OPERATION, { kind: SpanKind.SERVER, attributes: requestId ? { "pantheon.request.id": requestId } : {} });
  return new Promise<unknown>((resolve) => resolve(context.with(trace.setSpan(context.active(), span), wrapped))).then(
    () => span.end(),
    (error: unknown) => {
      endFailed(span, error);
      throw error;
    },
  );
}

function nameOperation(args: { document: DocumentNode; operationName?: string | null }): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  const operation = describeOperation(args.document, args.operationName);
  const named = operation.name !== "anonymous";
  span.updateName(named ? `${operation.type} ${operation.name}` : operation.type);
  span.setAttributes({ "graphql.operation.type": operation.type, ...(named ? { "graphql.operation.name": operation.name } : {}) });
}

/** Errors in a result (masked ones included) mark the span failed, by their code only. */
function markErrors(result: unknown): void {
  const errors = (result as { errors?: readonly { extensions?: Record<string, unknown> }[] } | undefined)?.errors;
  const span = trace.getActiveSpan();
  if (!span || !errors?.length) return;
  const code = errors[0]?.extensions?.code;
  span.setAttribute("error.type", typeof code === "string" ? code : "GraphQLError");
  span.setStatus({ code: SpanStatusCode.ERROR, message: "GraphQL errors" });
}

/** What the direct JSON path (directJson.ts) runs of this plugin: the operation's span and its errors. */
export interface OperationTracing {
  run<T>(req: object, operation: () => Promise<T>): Promise<T>;
  markErrors(result: unknown): void;
}

/** The span around an operation and its result's errors when tracing is on; null when it is off. */
export function operationTracing(): OperationTracing | null {
  const tracer = activeTracer();
  if (!tracer) return null;
  return {
    run: async (req, operation) => {
      let result: Awaited<ReturnType<typeof operation>> | undefined;
      await runInSpan(tracer, { context: { req } }, async () => {
        result = await operation();
      });
      return result!;
    },
    markErrors,
  };
}

/** The plugin when tracing is on; none when it is off, so operations pay nothing. */
export function tracingPlugins(): Plugin[] {
  const tracer = activeTracer();
  if (!tracer) return [];
  return [
    {
      instrumentation: { operation: (payload, wrapped) => runInSpan(tracer, payload, wrapped) },
      onExecute: ({ args }) => nameOperation(args),
      onSubscribe: ({ args }) => nameOperation(args),
      onExecutionResult: ({ result }) => markErrors(result),
    },
  ];
}
