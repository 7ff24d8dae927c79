// Which database failures are worth retrying: the connection died or could
// not be made, or the server is shutting down, starting up, or shedding
// load. A statement that failed this way may or may not have committed, so
// only idempotent writes are retried.
const TRANSIENT_SQLSTATES = new Set([
  "57P01", // admin_shutdown (pg_terminate_backend, restart)
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up, recovering)
  "53300", // too_many_connections
  "40001", // serialization_failure
  "40P01", // deadlock_detected
]);

const TRANSIENT_NODE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "ENOTFOUND"]);

// node-postgres reports a lost or refused connection by message only.
const TRANSIENT_MESSAGES = [
  "Connection terminated",
  "connection timeout",
  "timeout exceeded when trying to connect",
  "not queryable",
  "Client was closed and is not queryable",
  "Cannot use a pool after calling end",
];

// Prisma's codes for an unreachable or lost database, and its driver adapter's kinds.
const TRANSIENT_PRISMA_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024", "P2034"]);
const TRANSIENT_ADAPTER_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections", "TransactionWriteConflict"]);

function isTransientCode(code: unknown): boolean {
  return typeof code === "string" && (TRANSIENT_SQLSTATES.has(code) || code.startsWith("08") || TRANSIENT_NODE_CODES.has(code) || TRANSIENT_PRISMA_CODES.has(code));
}

export function isTransientDatabaseError(error: unknown, depth = 0): boolean {
  if (typeof error !== "object" || error === null || depth > 5) return false;
  const { code, originalCode, kind, message, cause, meta } = error as Record<string, unknown>;
  if (isTransientCode(code) || isTransientCode(originalCode)) return true;
  if (typeof kind === "string" && TRANSIENT_ADAPTER_KINDS.has(kind)) return true;
  if (typeof message === "string" && TRANSIENT_MESSAGES.some((fragment) => message.includes(fragment))) return true;
  // Prisma wraps the driver adapter's error, which wraps pg's.
  const adapterError = (meta as { driverAdapterError?: unknown } | undefined)?.driverAdapterError;
  return [cause, adapterError].some((inner) => inner !== undefined && inner !== error && isTransientDatabaseError(inner, depth + 1));
}
