// Yoga's own log calls go to the structured logger, with the request id when
// there is one. Yoga logs an unexpected error before masking it: that line is
// what a user's report (the request id in the masked error) leads to.
import type { YogaLogger } from "graphql-yoga";
import { errorFields, logger } from "./logger.ts";
import { currentRequest } from "./requestContext.ts";

function fields(args: unknown[]): Record<string, unknown> {
  const requestId = currentRequest()?.requestId;
  const error = args.find((arg) => arg instanceof Error);
  return { component: "graphql", ...(requestId ? { requestId } : {}), ...(error ? errorFields(error) : {}) };
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
    error: (...args) => logger.error(fields(args), message(args)),
  };
}
