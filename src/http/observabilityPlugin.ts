// What GraphQL knows about a request, for its log line (operation, viewer)
// and for the operation latency histogram. The log line itself is written by
// the HTTP server when the response finishes (apiServer.ts).
import type { Plugin } from "graphql-yoga";
import { getOperationAST, type DocumentNode } from "graphql";
import type { Context } from "../context.ts";
import type { Metrics } from "../observability/metrics.ts";

/** Operation names are the client's words: kept only when they look like names, so labels stay bounded. */
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

interface DescribedOperation {
  name: string;
  type: string;
}

/** By parsed document (Yoga caches documents) and operation name: described once. */
const described = new WeakMap<DocumentNode, Map<string, DescribedOperation>>();

export function describeOperation(document: DocumentNode, operationName: string | null | undefined): DescribedOperation {
  let byName = described.get(document);
  if (!byName) described.set(document, (byName = new Map()));
  const key = operationName ?? "";
  let operation = byName.get(key);
  if (!operation) {
    const node = getOperationAST(document, operationName ?? undefined);
    const name = node?.name?.value ?? "anonymous";
    operation = { name: OPERATION_NAME.test(name) ? name : "invalid_name", type: node?.operation ?? "unknown" };
    // Operation names are the client's words: a few kept per document, any others described each time.
    if (byName.size < 16) byName.set(key, operation);
  }
  return operation;
}

function note(context: Context, operation: { name: string; type: string }): void {
  const record = context.requestRecord;
  if (!record) return;
  // A batch notes its last operation; its log line still has one request id.
  record.operationName = operation.name;
  record.operationType = operation.type;
  if (context.viewer) record.userId = context.viewer.id;
}

/**
 * Observes the operation's duration when called. Returned, not assigned to a
 * name: under tsx a named closure costs a call that sets its name, per request.
 */
function observeDuration(metrics: Metrics, operation: DescribedOperation, started: number): () => void {
  return function () {
    metrics.graphqlOperations.observe({ operation: operation.name, type: operation.type }, (performance.now() - started) / 1000);
  };
}

export function observabilityPlugin(metrics: Metrics): Plugin {
  return {
    onExecute: ({ args }) => {
      const operation = describeOperation(args.document, args.operationName);
      note(args.contextValue as unknown as Context, operation);
      return { onExecuteDone: observeDuration(metrics, operation, performance.now()) };
    },
    onSubscribe: ({ args }) => {
      note(args.contextValue as unknown as Context, describeOperation(args.document, args.operationName));
    },
  };
}
