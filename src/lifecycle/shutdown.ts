// SIGTERM, as a rolling deploy sends it (SPEC 12): stop taking traffic, let
// what is in flight finish, end what cannot finish in time as the fault
// rules do, and exit 0. Each stage is logged.
import type { Server } from "node:http";
import type { Runtime } from "../runtime.ts";
import { announce } from "../observability/logger.ts";

/** In-flight requests (not event streams, which are ended) get this long to finish after the turns. */
const REQUEST_GRACE_MS = 5_000;

function serverClosed(server: Server, graceMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), graceMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export async function shutDown(server: Server, runtime: Runtime, signal: string): Promise<void> {
  // Written at any LOG_LEVEL, like the start-up lines: ops read these when a deploy misbehaves.
  const log = (fields: Record<string, unknown>, message: string) => announce(message, { component: "shutdown", signal, ...fields });
  // Still listening: the load balancer sees /readyz fail and moves traffic; other requests are served meanwhile.
  log({}, "shutdown: /readyz answers 503, no new turns here");
  runtime.readiness.beginShutdown();
  runtime.turns.stopAccepting();

  const running = runtime.turns.runningCount();
  log({ running, deadlineMs: runtime.config.shutdownTurnDeadlineMs }, "shutdown: waiting for running turns");
  if (!(await runtime.turns.drainWithin(runtime.config.shutdownTurnDeadlineMs))) {
    const interrupted = await runtime.turns.interruptRunning().catch(() => 0);
    log({ interrupted }, "shutdown: turns still running at the deadline ended as interrupted");
  }

  log({}, "shutdown: ending event streams (clients resume on another instance), closing the listener");
  runtime.turns.endStreams();
  // No new connections; idle keep-alive connections go now, busy ones when their request ends.
  const closed = serverClosed(server, REQUEST_GRACE_MS);
  server.closeIdleConnections();
  if (!(await closed)) {
    log({}, "shutdown: requests still open after the grace period are cut");
    server.closeAllConnections();
  }
  await runtime.close();
  log({}, "shutdown: done");
}
