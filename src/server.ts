// Entry point: parse the configuration, start the services, listen.
import { ConfigError, loadConfig } from "./config/env.ts";
import { startRuntime } from "./runtime.ts";
import { createApp } from "./yoga.ts";
import { createApiServer } from "./http/apiServer.ts";

async function main() {
  const config = loadConfig();
  const runtime = await startRuntime(config);
  const app = createApp(runtime);
  const server = createApiServer(app);
  server.listen(config.port, () => {
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : config.port;
    const gate = runtime.readiness.migrations();
    console.log(`Pantheon API on ${runtime.databaseLabel}`);
    console.log(`GraphQL: http://localhost:${port}/graphql${config.graphiqlEnabled ? " (GraphiQL: open it in a browser)" : ""}`);
    console.log(`Migration gate: ${gate.ok ? "ready" : `not ready: ${gate.reasons.join("; ")}`}`);
  });
  const shutdown = () => {
    server.close();
    server.closeAllConnections();
    void runtime.close().finally(() => process.exit(0));
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}

// A stray rejected promise (a database call nobody awaited) is logged, never fatal: the
// database errors behind such rejections are transient, and the server must outlive them.
process.on("unhandledRejection", (reason) => {
  const code = (reason as { code?: unknown } | null)?.code;
  console.error(`unhandled rejection (${typeof code === "string" ? code : reason instanceof Error ? reason.name : "unknown"})`);
});

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : "Startup failed:", error instanceof ConfigError ? "" : error);
  process.exit(1);
});
