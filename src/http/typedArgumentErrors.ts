// Unexpected errors leave the server masked (Yoga's default). Pothos's
// argument checks on connections (a malformed cursor, first with last, a
// page size out of range) are the client's mistake: they keep their message
// and get the typed code every other bad input has.
import { GraphQLError } from "graphql";
import { PothosValidationError } from "@pothos/core";
import { maskError, type MaskError } from "graphql-yoga";

export const maskErrors: MaskError = (error, message, isDev) => {
  const original = error instanceof GraphQLError ? error.originalError : error;
  if (error instanceof GraphQLError && original instanceof PothosValidationError) {
    return new GraphQLError(original.message, { nodes: error.nodes, path: error.path, extensions: { code: "VALIDATION_FAILED" } });
  }
  return maskError(error, message, isDev);
};
