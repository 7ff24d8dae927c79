// Entry point: parse the configuration, start the services, listen.
import { createServer } from "node:net";
import { ConfigError, loadConfig } from "./config/env.ts";
import { DataDirLocked } from "./embedded/dataDirLock.ts";
import { startRuntime } from "./runtime.ts";
import { createApp, createListener } from "./yoga.ts";
import { createApiServer } from "./http/apiServer.ts";
import { shutDown } from "./lifecycle/shutdown.ts";
import { announce, configureLogger, errorFields, logger } from "./observability/logger.ts";

/** How often a server started by npm checks that npm is still there. */
const PARENT_CHECK_MS = 500;

/** A port another process listens on is reported before anything starts (the embedded database, migrations). */
function portTaken(port: number): Promise<boolean> {
  if (port === 0) return Promise.resolve(false);
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (error: NodeJS.ErrnoException) => (error.code === "EADDRINUSE" ? resolve(true) : reject(error)));
    probe.listen(port, () => probe.close(() => resolve(false)));
  });
}

class PortTaken extends Error {
  constructor(port: number) {
    super(`Port ${port} is in use by another process: stop it, or start this server on another port with PORT=<port>.`);
  }
}

async function main() {
  const config = loadConfig();
  configureLogger(config);
  if (await portTaken(config.port)) throw new PortTaken(config.port);
  const runtime = await startRuntime(config);
  const app = createApp(runtime);
  const server = createApiServer(createListener(app, runtime), runtime.metrics);
  server.once("error", (error: NodeJS.ErrnoException) => {
    // Taken between the probe and now.
    if (error.code !== "EADDRINUSE") throw error;
    console.error(new PortTaken(config.port).message);
    void runtime.close().finally(() => process.exit(1));
  });
  server.listen(config.port, () => {
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : config.port;
    const gate = runtime.readiness.migrations();
    announce(`Pantheon API on ${runtime.databaseLabel}`);
    announce(`GraphQL: http://localhost:${port}/graphql${config.graphiqlEnabled ? " (GraphiQL: open it in a browser)" : ""}`, { port });
    announce(`Migration gate: ${gate.ok ? "ready" : `not ready: ${gate.reasons.join("; ")}`}`);
  });
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    void shutDown(server, runtime, signal).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error(errorFields(error), "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  stopWithNpm(stop);
}

/**
 * Under `npm start`, a SIGTERM sent to npm alone reaches npm's shell, not this
 * process: the shell dies and this process would be left running, reparented.
 * So while npm started it, losing its parent stops it as SIGTERM would.
 */
function stopWithNpm(stop: (signal: NodeJS.Signals) => void): void {
  if (!process.env.npm_lifecycle_event) return;
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    announce("npm start went away: stopping as on SIGTERM");
    stop("SIGTERM");
  }, PARENT_CHECK_MS);
  watch.unref();
}

// A stray rejected promise (a database call nobody awaited) is logged, never fatal: the
// database errors behind such rejections are transient, and the server must outlive them.
process.on("unhandledRejection", (reason) => {
  logger.error(errorFields(reason), "unhandled rejection");
});

main().catch((error: unknown) => {
  // A problem a person fixes is one line for them; anything else is logged with its stack.
  if (error instanceof ConfigError || error instanceof PortTaken || error instanceof DataDirLocked) console.error(error.message);
  else logger.fatal(errorFields(error), "startup failed");
  process.exit(1);
});
