// Entry point: parse the configuration, start the services, listen.
import { ConfigError, loadConfig } from "./config/env.ts";
import { startRuntime } from "./runtime.ts";
import { createApp } from "./yoga.ts";
import { createApiServer } from "./http/apiServer.ts";
import { shutDown } from "./lifecycle/shutdown.ts";
import { announce, configureLogger, errorFields, logger } from "./observability/logger.ts";

async function main() {
  const config = loadConfig();
  configureLogger(config);
  const runtime = await startRuntime(config);
  const app = createApp(runtime);
  const server = createApiServer(app, runtime.metrics);
  server.listen(config.port, () => {
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : config.port;
    const gate = runtime.readiness.migrations();
    announce(`Pantheon API on ${runtime.databaseLabel}`);
    announce(`GraphQL: http://localhost:${port}/graphql${config.graphiqlEnabled ? " (GraphiQL: open it in a browser)" : ""}`, { port });
    announce(`Migration gate: ${gate.ok ? "ready" : `not ready: ${gate.reasons.join("; ")}`}`);
  });
  const stop = (signal: NodeJS.Signals) =>
    void shutDown(server, runtime, signal).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error(errorFields(error), "shutdown failed");
        process.exit(1);
      },
    );
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

// A stray rejected promise (a database call nobody awaited) is logged, never fatal: the
// database errors behind such rejections are transient, and the server must outlive them.
process.on("unhandledRejection", (reason) => {
  logger.error(errorFields(reason), "unhandled rejection");
});

main().catch((error: unknown) => {
  // A configuration problem is one message for a person; anything else is logged with its stack.
  if (error instanceof ConfigError) console.error(error.message);
  else logger.fatal(errorFields(error), "startup failed");
  process.exit(1);
});
