// Builds the GraphQL HTTP app without listening; src/server.ts listens and
// tests call `app.fetch` or serve it on a real port. Node's listener
// (createListener) answers plain JSON POSTs directly (http/directJson.ts) and
// hands everything else to the app.
import type { IncomingMessage, ServerResponse } from "node:http";
import { createYoga } from "graphql-yoga";
import { schema } from "./schema/index.ts";
import type { Context } from "./context.ts";
import type { AppServices } from "./runtime.ts";
import { readyzPlugin } from "./http/readyz.ts";
import { renderGraphiQL } from "@graphql-yoga/render-graphiql";
import { graphiqlOptions } from "./http/graphiql.ts";
import { hardeningPlugins, limitRules, LIMITS } from "./http/hardening.ts";
import { cachedValidation } from "./http/cachedValidation.ts";
import { releaseScopeCache } from "./http/releaseScopeCache.ts";
import { typedArgumentErrors } from "./http/typedArgumentErrors.ts";
import { maskUnexpectedError, requestIdOnMaskedErrors, UNEXPECTED_ERROR_MESSAGE } from "./http/maskedErrors.ts";
import { recordOf, rememberRequest } from "./observability/requestContext.ts";
import { corsFor } from "./http/cors.ts";
import { metricsPlugin } from "./http/metricsEndpoint.ts";
import { observabilityPlugin } from "./http/observabilityPlugin.ts";
import { operationTracing, tracingPlugins } from "./http/tracingPlugin.ts";
import { yogaLogger } from "./http/yogaLogger.ts";
import { compiledExecution } from "./http/compiledExecution.ts";
import { directJsonListener, GRAPHQL_PATH, isGraphQLPath } from "./http/directJson.ts";

export type App = ReturnType<typeof createApp>;

export function createApp(services: AppServices) {
  const { config } = services;
  return createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    healthCheckEndpoint: "/healthz",
    landingPage: false,
    graphiql: config.graphiqlEnabled ? graphiqlOptions(config) : false,
    renderGraphiQL,
    batching: { limit: LIMITS.batchSize },
    // hardeningPlugins refuses every POST (the only method whose body Yoga
    // reads) without a Content-Length or over LIMITS.maxBodyBytes, and Node
    // never reads past the Content-Length, so Yoga's own limit, which pipes
    // every body through a byte-counting stream, could never trigger.
    maxRequestBodySize: false,
    // Validation results are cached by http/cachedValidation.ts: Yoga's cache
    // keys them by the names of the rules, read anew for every request.
    parserAndValidationCache: { validationCache: false },
    maskedErrors: { maskError: maskUnexpectedError, errorMessage: UNEXPECTED_ERROR_MESSAGE },
    cors: corsFor(config),
    logging: yogaLogger(),
    context: async (initial): Promise<Context> => {
      const { request } = initial;
      // Node's request carries the record (apiServer.ts); Yoga's Fetch request gets it too, for the result hooks.
      const requestRecord = recordOf((initial as { req?: object }).req);
      if (requestRecord) rememberRequest(request, requestRecord);
      return { services, request, requestRecord, viewer: await services.accounts.viewerFor(request) };
    },
    // A plugin's Yoga-level hooks (onRequestParse, onParams, onExecutionResult,
    // onResultProcess, onResponse) must be honoured by http/directJson.ts too.
    plugins: [
      ...hardeningPlugins(config),
      typedArgumentErrors(),
      readyzPlugin(services),
      metricsPlugin(services.metrics, config),
      observabilityPlugin(services.metrics),
      requestIdOnMaskedErrors(),
      ...tracingPlugins(),
      ...(config.graphqlExecution === "compiled" ? [compiledExecution(services.metrics)] : []),
      // After every plugin that adds a validation rule: it applies the limits' rules and caches the outcome.
      cachedValidation(limitRules(config)),
      releaseScopeCache(),
    ],
  });
}

/** Node's request listener for the API (GRAPHQL_HTTP_PATH: see http/directJson.ts). */
export function createListener(app: App, services: AppServices): (request: IncomingMessage, response: ServerResponse) => void {
  const { config, metrics } = services;
  const direct = metrics.graphqlHttpRequests.labels("direct");
  const yoga = metrics.graphqlHttpRequests.labels("yoga");
  if (config.graphqlHttpPath === "yoga") {
    return (request, response) => {
      if (isGraphQLPath(request.url)) yoga.inc();
      void app(request, response);
    };
  }
  return directJsonListener(app, {
    cors: corsFor(config),
    maxBodyBytes: LIMITS.maxBodyBytes,
    logger: yogaLogger(),
    tracing: operationTracing(),
    count: (path) => (path === "direct" ? direct : yoga).inc(),
  });
}
