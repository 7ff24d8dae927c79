// Bad arguments refused before a resolver runs are the client's mistake:
// they keep their message and Yoga's HTTP status, and get the code every
// other bad input has (VALIDATION_FAILED):
// - a variable that is not a value of its type (a Decimal "abc", an Int 1.5
//   or 1e30, an unknown enum value, a required one missing), refused while
//   the executor coerces variables: the result has errors and no data. The
//   executor codes a subscription's refusals BAD_USER_INPUT; ours are one code.
// - Pothos's argument checks on connections (a malformed cursor, a negative
//   page size, first with last).
// Done on the execution result, before Yoga masks errors, so they are neither
// masked nor logged as server errors; an error that is not a GraphQLError all
// the way down (a scalar that crashed) is still masked. A bad literal in the
// document fails validation and keeps Yoga's GRAPHQL_VALIDATION_FAILED.
import { GraphQLError, type ExecutionResult } from "graphql";
import { PothosValidationError } from "@pothos/core";
import { handleStreamOrSingleExecutionResult, isAsyncIterable, type Plugin } from "graphql-yoga";
import type { ErrorCode } from "../errors.ts";

const VALIDATION_FAILED: ErrorCode = "VALIDATION_FAILED";
/** The code @graphql-tools/executor gives a subscription's refused variables. */
const EXECUTOR_INPUT_CODE = "BAD_USER_INPUT";

function withCode(error: GraphQLError): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: { ...error.extensions, code: VALIDATION_FAILED },
  });
}

/** Raised by graphql itself (no error of another kind inside): a client's mistake, not a crash. */
function isPlainGraphQLError(error: GraphQLError): boolean {
  for (let cause: unknown = error; ; cause = (cause as GraphQLError).originalError) {
    if (!(cause instanceof GraphQLError)) return false;
    if (!cause.originalError) return true;
  }
}

function isRefusedArgument(error: GraphQLError, beforeExecution: boolean): boolean {
  if (error.originalError instanceof PothosValidationError) return true;
  const code = error.extensions.code;
  return beforeExecution && (code === undefined || code === EXECUTOR_INPUT_CODE) && isPlainGraphQLError(error);
}

/** The result with its refused arguments coded, or null when it has none. */
function typed(result: ExecutionResult): ExecutionResult | null {
  // The executor answers without data only when it refused to start.
  const beforeExecution = !("data" in result);
  if (!result.errors?.some((error) => isRefusedArgument(error, beforeExecution))) return null;
  return { ...result, errors: result.errors.map((error) => (isRefusedArgument(error, beforeExecution) ? withCode(error) : error)) };
}

/** The same hooks for every execution: nothing per request to allocate. */
const onExecuteHooks = {
  onExecuteDone: (payload: Parameters<typeof handleStreamOrSingleExecutionResult>[0]) =>
    handleStreamOrSingleExecutionResult(payload, ({ result, setResult }) => {
      const coded = typed(result);
      if (coded) setResult(coded);
    }),
};

export function typedArgumentErrors(): Plugin {
  return {
    onExecute: () => onExecuteHooks,
    onSubscribe: () => ({
      onSubscribeResult: ({ result, setResult }) => {
        if (isAsyncIterable(result)) return;
        const coded = typed(result);
        if (coded) setResult(coded);
      },
    }),
  };
}
