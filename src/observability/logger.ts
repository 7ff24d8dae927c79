// Structured logs (pino): one JSON object per line, readable (pino-pretty)
// in development. One process-wide logger, configured once at start from
// the parsed configuration. Never give it tokens, keys, connection strings or
// message content: fields are ids, names, codes, counts and durations.
import { createRequire } from "node:module";
import pino, { type Logger } from "pino";
import type { AppConfig } from "../config/env.ts";

const require = createRequire(import.meta.url);

/** Keys whose values are never written, should one be passed by mistake. */
const REDACTED = ["authorization", "*.authorization", "headers.authorization", "token", "*.token", "apiKey", "*.apiKey", "password", "*.password", "content", "*.content"];

function prettyTransport(): pino.TransportSingleOptions | undefined {
  try {
    // A development dependency: absent from production images, where logs stay JSON.
    require.resolve("pino-pretty");
    // Colours only on a terminal: a log redirected to a file stays plain text.
    const colorize = process.stdout.isTTY === true && !process.env.NO_COLOR;
    return { target: "pino-pretty", options: { colorize, translateTime: "HH:MM:ss.l", ignore: "pid,hostname" } };
  } catch {
    return undefined;
  }
}

function build(options: { level: string; pretty: boolean }): Logger {
  const transport = options.pretty ? prettyTransport() : undefined;
  return pino({ level: options.level, redact: { paths: REDACTED, censor: "[redacted]" }, base: { pid: process.pid }, ...(transport ? { transport } : {}) });
}

export let logger: Logger = build({ level: process.env.LOG_LEVEL ?? "info", pretty: false });

export function configureLogger(config: Pick<AppConfig, "logLevel" | "appEnv">): Logger {
  logger = build({ level: config.logLevel, pretty: config.appEnv === "development" });
  return logger;
}

/** Lines a person starting the server needs (where to open GraphiQL, the gate's state): written at any LOG_LEVEL. */
export function announce(message: string, fields: Record<string, unknown> = {}): void {
  logger.child({}, { level: "info" }).info(fields, message);
}

/** An error as a log field: class and code, and the stack for unexpected ones; never a connection string. */
export function errorFields(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { error: typeof error };
  const code = (error as { code?: unknown }).code;
  return { error: { type: error.name, ...(typeof code === "string" ? { code } : {}), stack: error.stack?.split("\n").slice(1, 8).join("\n") } };
}
