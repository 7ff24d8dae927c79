// Yoga's own log calls go to the structured logger. Yoga logs every error it
// masks, without the request; those are logged by maskedErrors.ts instead,
// with the request id the client got.
import type { YogaLogger } from "graphql-yoga";
import { errorFields, logger } from "../observability/logger.ts";
import { isMaskedOriginal } from "./maskedErrors.ts";

function fields(args: unknown[]): Record<string, unknown> {
  const error = args.find((arg) => arg instanceof Error);
  return { component: "graphql", ...(error ? errorFields(error) : {}) };
}

function message(args: unknown[]): string {
  const text = args.find((arg): arg is string => typeof arg === "string");
  return text ?? (args.some((arg) => arg instanceof Error) ? "error masked in a GraphQL response" : "graphql");
}

export function yogaLogger(): YogaLogger {
  return {
    debug: (...args) => logger.debug(fields(args), message(args)),
    info: (...args) => logger.info(fields(args), message(args)),
    warn: (...args) => logger.warn(fields(args), message(args)),
    // An error Yoga masked is logged once, with its request id, when the response goes out (maskedErrors.ts).
    error: (...args) => {
      if (!args.some(isMaskedOriginal)) logger.error(fields(args), message(args));
    },
  };
}
