// Lost database connections are expected (restarts, failovers, pooler
// recycles) and come in bursts, one per pooled connection: logged once per
// interval, by code only (a message may carry the connection string).
import { logger } from "../observability/logger.ts";

const LOG_INTERVAL_MS = 10_000;

export function connectionErrorLog(log: (line: string) => void = (line) => logger.warn({ component: "database" }, line)): (error: unknown) => void {
  let lastLoggedAt = 0;
  let suppressed = 0;
  return (error) => {
    const now = Date.now();
    if (now - lastLoggedAt < LOG_INTERVAL_MS) {
      suppressed++;
      return;
    }
    const code = (error as { code?: unknown }).code;
    log(`database connection lost (${typeof code === "string" ? code : "no code"})${suppressed > 0 ? `; ${suppressed} more since the last report` : ""}`);
    lastLoggedAt = now;
    suppressed = 0;
  };
}
