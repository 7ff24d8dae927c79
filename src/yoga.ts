// Builds the GraphQL HTTP app without listening; src/server.ts listens and
// tests call `app.fetch` or serve it on a real port.
import { createYoga, useReadinessCheck } from "graphql-yoga";
import { schema } from "./schema/index.ts";
import type { AppServices, Context } from "./context.ts";
import { systemStatus } from "./resolvers/status.ts";

export type App = ReturnType<typeof createApp>;

export function createApp(services: AppServices) {
  const { config } = services;
  return createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: "/graphql",
    healthCheckEndpoint: "/healthz",
    landingPage: false,
    graphiql: config.graphiqlEnabled ? { title: "Pantheon API" } : false,
    maskedErrors: true,
    cors: config.corsAllowedOrigins.length > 0 ? { origin: config.corsAllowedOrigins, credentials: true } : false,
    logging: config.logLevel,
    context: ({ request }): Context => ({ ...services, request, viewer: null }),
    plugins: [
      useReadinessCheck({
        endpoint: "/readyz",
        check: () => {
          const status = systemStatus(services);
          return Response.json(
            { ready: status.ready, rolloutStage: status.rolloutStage, gates: status.gates },
            { status: status.ready ? 200 : 503 },
          );
        },
      }),
    ],
  });
}
