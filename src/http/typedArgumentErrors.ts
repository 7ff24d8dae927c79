// Pothos's argument checks on connections (a malformed cursor, a negative
// page size, first with last) are the client's mistake: they keep their
// message and get the typed code every other bad input has. Done on the
// execution result, before Yoga masks errors, so they are neither masked nor
// logged as server errors; anything unexpected is still masked.
import { GraphQLError } from "graphql";
import { PothosValidationError } from "@pothos/core";
import { handleStreamOrSingleExecutionResult, type Plugin } from "graphql-yoga";

function typed(error: GraphQLError): GraphQLError {
  if (!(error.originalError instanceof PothosValidationError)) return error;
  return new GraphQLError(error.message, { nodes: error.nodes, path: error.path, extensions: { code: "VALIDATION_FAILED" } });
}

export function typedArgumentErrors(): Plugin {
  return {
    onExecute: () => ({
      onExecuteDone: (payload) =>
        handleStreamOrSingleExecutionResult(payload, ({ result, setResult }) => {
          if (result.errors?.some((error) => error.originalError instanceof PothosValidationError)) setResult({ ...result, errors: result.errors.map(typed) });
        }),
    }),
  };
}
