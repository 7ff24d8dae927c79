// Builds the GraphQL HTTP app without listening; src/server.ts listens and
// tests call `app.fetch` or serve it on a real port.
import { createYoga } from "graphql-yoga";
import { schema } from "./schema/index.ts";
import type { Context } from "./context.ts";
import type { AppServices } from "./runtime.ts";
import { readyzPlugin } from "./http/readyz.ts";
import { renderGraphiQL } from "@graphql-yoga/render-graphiql";
import { graphiqlOptions } from "./http/graphiql.ts";
import { hardeningPlugins, LIMITS } from "./http/hardening.ts";
import { typedArgumentErrors } from "./http/typedArgumentErrors.ts";
import { maskUnexpectedError, requestIdOnMaskedErrors } from "./http/maskedErrors.ts";
import { recordOf, rememberRequest } from "./observability/requestContext.ts";
import { corsFor } from "./http/cors.ts";
import { metricsPlugin } from "./http/metricsEndpoint.ts";
import { observabilityPlugin } from "./http/observabilityPlugin.ts";
import { tracingPlugins } from "./http/tracingPlugin.ts";
import { yogaLogger } from "./http/yogaLogger.ts";
import { compiledExecution } from "./http/compiledExecution.ts";

export type App = ReturnType<typeof createApp>;

export function createApp(services: AppServices) {
  const { config } = services;
  return createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: "/graphql",
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
    maskedErrors: { maskError: maskUnexpectedError },
    cors: corsFor(config),
    logging: yogaLogger(),
    context: async (initial): Promise<Context> => {
      const { request } = initial;
      // Node's request carries the record (apiServer.ts); Yoga's Fetch request gets it too, for the result hooks.
      const requestRecord = recordOf((initial as { req?: object }).req);
      if (requestRecord) rememberRequest(request, requestRecord);
      return { services, request, requestRecord, viewer: await services.accounts.viewerFor(request) };
    },
    plugins: [
      ...hardeningPlugins(config),
      typedArgumentErrors(),
      readyzPlugin(services),
      metricsPlugin(services.metrics, config),
      observabilityPlugin(services.metrics),
      requestIdOnMaskedErrors(),
      ...tracingPlugins(),
      ...(config.graphqlExecution === "compiled" ? [compiledExecution(services.metrics)] : []),
    ],
  });
}
