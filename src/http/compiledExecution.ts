// Queries and mutations run as compiled functions: graphql-jit turns a document into
// plain JavaScript once (field resolution, abstract types, serialization
// unrolled for that selection), and every later request with the same
// document calls it. The standard executor walks the document anew on each
// request; on the rooms page that walk is most of what GraphQL costs (see
// docs/development.md, benchmarks).
//
// Everything around execution is unchanged: Yoga parses, validates (armor's
// limits included) and masks errors; the schema's resolvers, with their
// @requiresReady checks, Pothos error unions and per-request loaders, are the
// ones the compiled code calls. A document graphql-jit cannot compile runs on
// the standard executor, counted in /metrics with executor="standard".
// Subscriptions are compiled too, but only for their events: the stream
// itself is opened by graphql-js (see onSubscribe).
//
// Compiled functions are cached per parsed document (Yoga's parse cache hands
// the same DocumentNode to every request with the same text) and operation
// name, at most MAX_COMPILED_DOCUMENTS, least recently used out first.
import {
  createSourceEventStream,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
  type VariableDefinitionNode,
} from "graphql";
import { compileQuery, isCompiledQuery, type CompiledQuery } from "graphql-jit";
import { LRUCache } from "lru-cache";
import { isAsyncIterable, mapAsyncIterator, type Plugin } from "graphql-yoga";
import { logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";

/** Enough for every document a client ships (this API's own test suite has ~80) and for GraphiQL's many. */
export const MAX_COMPILED_DOCUMENTS = 1_000;

/** An operation as compiled (or "standard" when it did not compile), with its type for the metric and its variables. */
interface CompiledOperation {
  query: CompiledQuery | "standard";
  type: string;
  variables: readonly VariableDefinitionNode[];
}

/** A document's operations by operation name ("" for the only one). */
type CompiledOperations = Map<string, CompiledOperation>;

function compile(schema: GraphQLSchema, document: DocumentNode, operationName: string | undefined): CompiledQuery | "standard" {
  try {
    const compiled = compileQuery(schema, document, operationName, { disablingCapturingStackErrors: true });
    if (isCompiledQuery(compiled)) return compiled;
    // An operation name that is not in the document, say: the standard executor answers it as it always did.
    logger.warn({ operation: operationName ?? null, reason: compiled.errors?.[0]?.message }, "graphql: a document did not compile; it runs on the standard executor");
  } catch (error) {
    logger.warn({ operation: operationName ?? null, reason: error instanceof Error ? error.message : String(error) }, "graphql: a document did not compile; it runs on the standard executor");
  }
  return "standard";
}

/**
 * graphql-jit's errors are GraphQLErrors by prototype only: without an
 * originalError carrying extensions they have none, and their fields cannot
 * be written. Every hook after execution (typed argument errors, masking,
 * request ids) expects graphql's own, so each becomes one, unchanged in what
 * it says: message, locations, path, the error it wraps and its extensions.
 */
function asGraphQLError(error: GraphQLError): GraphQLError {
  if (error.constructor === GraphQLError) return error;
  const rebuilt = new GraphQLError(error.message, { path: error.path, originalError: error.originalError, extensions: error.extensions });
  if (error.locations) (rebuilt as { locations?: GraphQLError["locations"] }).locations = error.locations;
  return rebuilt;
}

function normalized(result: ExecutionResult): ExecutionResult {
  return result.errors ? { ...result, errors: result.errors.map(asGraphQLError) } : result;
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown }).then === "function";
}

/** No data: a compiled query or mutation refused to start (it answers so only for variables that are not values of their types). */
function refusedToStart(result: ExecutionResult): boolean {
  return !("data" in result);
}

export function compiledExecution(metrics: Pick<Metrics, "graphqlExecutions" | "observeCompiledDocuments">): Plugin {
  const cache = new LRUCache<DocumentNode, CompiledOperations>({ max: MAX_COMPILED_DOCUMENTS });
  metrics.observeCompiledDocuments(() => cache.size);

  function compiledFor(args: ExecutionArgs): CompiledOperation {
    const key = args.operationName ?? "";
    let operations = cache.get(args.document);
    if (!operations) cache.set(args.document, (operations = new Map()));
    let compiled = operations.get(key);
    if (!compiled) {
      const operation = getOperationAST(args.document, args.operationName);
      compiled = { query: compile(args.schema, args.document, args.operationName ?? undefined), type: operation?.operation ?? "unknown", variables: operation?.variableDefinitions ?? [] };
      operations.set(key, compiled);
    }
    return compiled;
  }

  return {
    onExecute: ({ args, executeFn, setExecuteFn }) => {
      const { query, type } = compiledFor(args);
      metrics.graphqlExecutions.inc({ executor: query === "standard" ? "standard" : "compiled", type });
      if (query === "standard") return;
      setExecuteFn((final) => {
        const result = query.query(final.rootValue, final.contextValue, final.variableValues);
        if (isThenable(result)) return Promise.resolve(result).then(normalized);
        // A refusal reads exactly as the standard executor words and codes it; nothing ran, so nothing runs twice.
        return refusedToStart(result) ? executeFn(final) : normalized(result);
      });
    },
    // graphql-jit 0.8.9 hands a subscription field its operation's variables as its arguments, so a literal
    // argument, or a variable named otherwise than its argument, would be lost (test/compiledExecution.test.ts):
    // graphql-js opens the stream, with the arguments as written, and each event it yields runs compiled
    // (what graphql-js would do with execute, the event as root value). An event is executed once per
    // follower, so this is on every turn's path.
    onSubscribe: ({ args, subscribeFn, setSubscribeFn }) => {
      const { query, variables } = compiledFor(args);
      metrics.graphqlExecutions.inc({ executor: query === "standard" ? "standard" : "compiled", type: "subscription" });
      if (query === "standard") return;
      setSubscribeFn(async (final) => {
        // Variables that are not values of their types: refused by the standard executor, as it words and codes
        // it (and its HTTP status); nothing ran yet, so nothing runs twice.
        if (getVariableValues(final.schema, variables, final.variableValues ?? {}).errors) return subscribeFn(final);
        const source = await createSourceEventStream(final);
        if (!isAsyncIterable(source)) return source;
        return mapAsyncIterator(source, (event: unknown) => {
          const result = query.query(event, final.contextValue, final.variableValues);
          return isThenable(result) ? Promise.resolve(result).then(normalized) : normalized(result);
        });
      });
    },
  };
}
