// The one place that reads process.env: every variable is parsed here, once,
// into a typed config object. A bad environment fails with one message that
// lists every problem by variable name, never by value.
import { z } from "zod";
import { CREDIT_ENFORCEMENTS, CREDIT_PLANS, type CreditEnforcement, type CreditPlanName } from "./credits.ts";
import type { WalletWebhookConfig } from "./credits.ts";

export const APP_ENVS = ["development", "test", "staging", "production"] as const;
export const ROLLOUT_STAGES = ["closed_beta", "broad"] as const;

const SUPABASE_TRANSACTION_POOLER_PORT = "6543";
/** The offline provider's pause between words in development: an agent's answer streams for about five seconds. */
const LOCAL_STREAM_MS_IN_DEVELOPMENT = 80;
export const DATABASE_POOL_MODES = ["direct", "session", "transaction"] as const;
export type DatabasePoolMode = (typeof DATABASE_POOL_MODES)[number];

const protocolOf = (value: string) => URL.parse(value)?.protocol ?? "";

const postgresUrl = z
  .string()
  .url({ message: "must be a URL", abort: true })
  .refine((value) => /^postgres(ql)?:$/.test(protocolOf(value)), "must be a postgres:// or postgresql:// URL");

const httpUrl = z
  .string()
  .url({ message: "must be a URL", abort: true })
  .refine((value) => /^https?:$/.test(protocolOf(value)), "must be an http(s) URL");

const number = () => z.coerce.number({ message: "must be a number" });
const positiveInt = (fallback: number) => number().int("must be a whole number").positive("must be positive").default(fallback);

const booleanFlag = z
  .enum(["true", "false", "1", "0"], { message: "must be true or false" })
  .transform((value) => value === "true" || value === "1");

const emptyAsUndefined = (value: unknown) => (value === "" ? undefined : value);

const envSchema = z
  .object({
    APP_ENV: z.enum(APP_ENVS).default("development"),
    ROLLOUT_STAGE: z.enum(ROLLOUT_STAGES).optional(),
    PORT: number().int("must be a whole number").min(0, "must be a port number").max(65535, "must be a port number").default(4000),
    DATABASE_URL: postgresUrl.optional(),
    DATABASE_POOL_URL: postgresUrl.optional(),
    DATABASE_POOL_MAX: positiveInt(10),
    DATABASE_POOL_MODE: z.enum(DATABASE_POOL_MODES).optional(),
    EMBEDDED_DATA_DIR: z.string().min(1).default(".data/pglite"),
    LEDGER_BUFFER_DIR: z.string().min(1).default(".data/ledger-buffer"),
    TURN_LEASE_MS: number().int("must be a whole number").min(1_000, "must be at least 1000").default(30_000),
    SHUTDOWN_TURN_DEADLINE_MS: number().int("must be a whole number").min(0, "must not be negative").default(25_000),
    SUPABASE_URL: httpUrl.optional(),
    SUPABASE_JWT_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
    SUPABASE_JWKS_URL: httpUrl.optional(),
    SUPABASE_SERVICE_ROLE_KEY: z.string().min(20, "is too short to be a service-role key").optional(),
    OPENROUTER_API_KEY: z.string().min(1).optional(),
    OPENROUTER_BASE_URL: httpUrl.default("https://openrouter.ai/api/v1"),
    OPENROUTER_TIMEOUT_MS: positiveInt(60_000),
    OPENROUTER_MAX_RETRIES: number().int("must be a whole number").min(0, "must be 0 to 5").max(5, "must be 0 to 5").default(2),
    LOCAL_PROVIDER_STREAM_MS: number().int("must be a whole number").min(0, "must not be negative").max(1000, "must be at most 1000").optional(),
    REDIS_URL: z.string().url("must be a URL").optional(),
    API_CORS_ALLOWED_ORIGINS: z
      .string()
      .default("")
      .transform((value) => value.split(",").map((origin) => origin.trim()).filter(Boolean))
      .pipe(z.array(httpUrl)),
    RATE_LIMIT_TURNS_PER_MINUTE: positiveInt(10),
    RATE_LIMIT_TURNS_PER_HOUR: positiveInt(60),
    CONTEXT_MAX_OUTPUT_TOKENS: positiveInt(2048),
    MIN_OUTPUT_TOKENS: positiveInt(256),
    READINESS_RECHECK_MS: positiveInt(5_000),
    READINESS_REFRESH_MS: positiveInt(60_000),
    GRAPHIQL_ENABLED: booleanFlag.optional(),
    GRAPHQL_EXECUTION: z.enum(["compiled", "standard"]).default("compiled"),
    GRAPHQL_HTTP_PATH: z.enum(["direct", "yoga"]).default("direct"),
    LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
    METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
    OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl.optional(),
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: httpUrl.optional(),
    OTEL_SERVICE_NAME: z.string().min(1).default("pantheon-api"),
    CREDIT_ENFORCEMENT: z.enum(CREDIT_ENFORCEMENTS).default("warn"),
    DEFAULT_PLAN: z.enum(CREDIT_PLANS).default("starter"),
    ALERT_WEBHOOK_URL: httpUrl.optional(),
    ALERT_WEBHOOK_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
    ALERT_WEBHOOK_RETRY_BASE_MS: number().int("must be a whole number").min(100, "must be at least 100").default(5_000),
    ALERT_WEBHOOK_MAX_ATTEMPTS: number().int("must be a whole number").min(1, "must be 1 to 50").max(50, "must be 1 to 50").default(10),
    ALERT_WEBHOOK_TIMEOUT_MS: positiveInt(10_000),
  });

const PRODUCTION_REQUIRED = [
  "DATABASE_URL",
  "DATABASE_POOL_URL",
  "SUPABASE_URL",
  "SUPABASE_SERVICE_ROLE_KEY",
  "OPENROUTER_API_KEY",
  "ROLLOUT_STAGE",
] as const;

/** Checked on the raw values so they are reported together with any malformed ones. */
function crossFieldProblems(raw: Record<string, unknown>): string[] {
  const problems: string[] = [];
  // An unsigned alert could be forged by anyone who finds the receiver's URL.
  if (raw.ALERT_WEBHOOK_URL !== undefined && raw.ALERT_WEBHOOK_SECRET === undefined) problems.push("ALERT_WEBHOOK_SECRET is required with ALERT_WEBHOOK_URL");
  const poolUrl = raw.DATABASE_POOL_URL ?? raw.DATABASE_URL;
  if (raw.DATABASE_POOL_MODE !== undefined && raw.DATABASE_POOL_MODE !== "transaction" && typeof poolUrl === "string" && namesTransactionPooler(poolUrl)) {
    problems.push("DATABASE_POOL_MODE says the pool connection keeps sessions, but DATABASE_POOL_URL names a transaction pooler (port 6543 or pgbouncer=true): set DATABASE_POOL_MODE=transaction");
  }
  return problems;
}

/** Checked on the raw values so they are reported together with any malformed ones. */
function productionProblems(raw: Record<string, unknown>): string[] {
  if (raw.APP_ENV !== "production") return [];
  const problems: string[] = PRODUCTION_REQUIRED.filter((name) => raw[name] === undefined).map((name) => `${name} is required in production`);
  if (raw.SUPABASE_JWT_SECRET === undefined && raw.SUPABASE_JWKS_URL === undefined && raw.SUPABASE_URL === undefined) {
    problems.push("SUPABASE_JWT_SECRET or SUPABASE_JWKS_URL (or SUPABASE_URL for its JWKS) is required in production");
  }
  return problems;
}

export type RawEnv = z.input<typeof envSchema>;

export interface DatabaseConfig {
  /** Direct connection: migrations, admin and readiness checks. */
  directUrl: string;
  /** Runtime pool connection (Supabase transaction pooler in production). */
  poolUrl: string;
  poolMax: number;
  /**
   * What the pool connection is, as the operator declares it (DATABASE_POOL_MODE): `transaction` (a
   * transaction pooler: no named statements, no session state; the default with DATABASE_POOL_URL),
   * `session` (a session pooler) or `direct` (the default without it: the pool uses DATABASE_URL).
   */
  poolMode: DatabasePoolMode;
}

export interface AppConfig {
  appEnv: (typeof APP_ENVS)[number];
  isProduction: boolean;
  /** Null only outside production when unset: access is then not gated by stage (local development). */
  rolloutStage: (typeof ROLLOUT_STAGES)[number] | null;
  port: number;
  /** Null means: use the embedded development database. */
  database: DatabaseConfig | null;
  embeddedDataDir: string;
  /** The ledger's disk buffer (SPEC 11); must outlive the process (a volume in containers). */
  ledgerBufferDir: string;
  /** How long a running turn's owner may go without renewing its lease before another instance ends the turn. */
  turnLeaseMs: number;
  /** On SIGTERM, how long running turns may take to finish before they are ended as interrupted. */
  shutdownTurnDeadlineMs: number;
  auth: {
    supabaseUrl: string | undefined;
    jwtSecret: string | undefined;
    jwksUrl: string | undefined;
  };
  supabaseServiceRoleKey: string | undefined;
  llm: {
    provider: "openrouter" | "local";
    openrouterApiKey: string | undefined;
    openrouterBaseUrl: string;
    timeoutMs: number;
    maxRetries: number;
    /** The offline provider's pause between streamed words: visible streaming in development (80 ms), none in tests. */
    localStreamMs: number;
  };
  redisUrl: string | undefined;
  corsAllowedOrigins: string[];
  rateLimit: { turnsPerMinute: number; turnsPerHour: number };
  contextMaxOutputTokens: number;
  /** The least max_tokens an agent's answer or a synthesis is asked with when the balance is short (SPEC 14); below it the turn stops with BUDGET. */
  minOutputTokens: number;
  readinessRecheckMs: number;
  /** Re-check interval once every gate passes (picks up a migration rolled back by hand, rotations, settings). */
  readinessRefreshMs: number;
  graphiqlEnabled: boolean;
  /** compiled: queries and mutations run as graphql-jit functions, cached per document (src/http/compiledExecution.ts); standard: graphql-js's executor for every operation. */
  graphqlExecution: "compiled" | "standard";
  /** direct: plain JSON POSTs to /graphql answered on Node's request (src/http/directJson.ts); yoga: every request through Yoga's Fetch API server. */
  graphqlHttpPath: "direct" | "yoga";
  logLevel: "debug" | "info" | "warn" | "error";
  /** Bearer token for GET /metrics; without it /metrics is off in production and open elsewhere. */
  metricsToken: string | undefined;
  /** OpenTelemetry traces over OTLP/HTTP; null (the default) when no endpoint is set: tracing off. */
  tracing: { tracesUrl: string; serviceName: string } | null;
  credits: {
    /** off: no holds, no refusals (every call is still debited); warn: holds, no refusals; enforce: a send whose hold exceeds what is available is refused. */
    enforcement: CreditEnforcement;
    /** The plan a user's wallet opens on. */
    defaultPlan: CreditPlanName;
    /** Signed low-balance webhooks (ALERT_WEBHOOK_URL); null: none. */
    alertWebhook: WalletWebhookConfig | null;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const name = issue.path.join(".") || "environment";
  // Only our own messages are used: zod's defaults can echo the received value. The allowed values are ours to show.
  const message = issue.code === "invalid_value" ? `has an unsupported value (allowed: ${issue.values.map(String).join(", ")})` : issue.message;
  return `${name} ${message}`;
}

/** A URL that says it is a transaction pooler (Supabase's port, Prisma's flag); other poolers say nothing, hence the declared mode. */
function namesTransactionPooler(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.port === SUPABASE_TRANSACTION_POOLER_PORT || parsed.searchParams.get("pgbouncer") === "true";
  } catch {
    return false;
  }
}

/** OTLP's rule: the traces endpoint is used as given; the general one gets the signal's path appended. */
function tracingConfig(env: z.output<typeof envSchema>): AppConfig["tracing"] {
  const general = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const tracesUrl = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (general && `${general.replace(/\/+$/, "")}/v1/traces`);
  return tracesUrl ? { tracesUrl, serviceName: env.OTEL_SERVICE_NAME } : null;
}

function alertWebhookConfig(env: z.output<typeof envSchema>): WalletWebhookConfig | null {
  if (!env.ALERT_WEBHOOK_URL || !env.ALERT_WEBHOOK_SECRET) return null;
  return {
    url: env.ALERT_WEBHOOK_URL,
    secret: env.ALERT_WEBHOOK_SECRET,
    retryBaseMs: env.ALERT_WEBHOOK_RETRY_BASE_MS,
    maxAttempts: env.ALERT_WEBHOOK_MAX_ATTEMPTS,
    timeoutMs: env.ALERT_WEBHOOK_TIMEOUT_MS,
    pollMs: 1_000,
  };
}

export function loadConfig(source: Record<string, string | undefined> = process.env): AppConfig {
  const cleaned = Object.fromEntries(Object.entries(source).map(([key, value]) => [key, emptyAsUndefined(value)]));
  const parsed = envSchema.safeParse(cleaned);
  const problems = [...(parsed.success ? [] : parsed.error.issues.map(describeIssue)), ...productionProblems(cleaned), ...crossFieldProblems(cleaned)];
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const env = parsed.data;
  const directUrl = env.DATABASE_URL;
  const poolUrl = env.DATABASE_POOL_URL ?? env.DATABASE_URL;
  const isProduction = env.APP_ENV === "production";
  return {
    appEnv: env.APP_ENV,
    isProduction,
    rolloutStage: env.ROLLOUT_STAGE ?? null,
    port: env.PORT,
    database:
      directUrl && poolUrl
        ? { directUrl, poolUrl, poolMax: env.DATABASE_POOL_MAX, poolMode: env.DATABASE_POOL_MODE ?? (env.DATABASE_POOL_URL ? "transaction" : "direct") }
        : null,
    embeddedDataDir: env.EMBEDDED_DATA_DIR,
    ledgerBufferDir: env.LEDGER_BUFFER_DIR,
    turnLeaseMs: env.TURN_LEASE_MS,
    shutdownTurnDeadlineMs: env.SHUTDOWN_TURN_DEADLINE_MS,
    auth: {
      supabaseUrl: env.SUPABASE_URL,
      jwtSecret: env.SUPABASE_JWT_SECRET,
      jwksUrl: env.SUPABASE_JWKS_URL ?? (env.SUPABASE_URL ? new URL("/auth/v1/.well-known/jwks.json", env.SUPABASE_URL).toString() : undefined),
    },
    supabaseServiceRoleKey: env.SUPABASE_SERVICE_ROLE_KEY,
    llm: {
      provider: env.OPENROUTER_API_KEY ? "openrouter" : "local",
      openrouterApiKey: env.OPENROUTER_API_KEY,
      openrouterBaseUrl: env.OPENROUTER_BASE_URL,
      timeoutMs: env.OPENROUTER_TIMEOUT_MS,
      maxRetries: env.OPENROUTER_MAX_RETRIES,
      localStreamMs: env.LOCAL_PROVIDER_STREAM_MS ?? (env.APP_ENV === "development" ? LOCAL_STREAM_MS_IN_DEVELOPMENT : 0),
    },
    redisUrl: env.REDIS_URL,
    corsAllowedOrigins: env.API_CORS_ALLOWED_ORIGINS,
    rateLimit: { turnsPerMinute: env.RATE_LIMIT_TURNS_PER_MINUTE, turnsPerHour: env.RATE_LIMIT_TURNS_PER_HOUR },
    contextMaxOutputTokens: env.CONTEXT_MAX_OUTPUT_TOKENS,
    minOutputTokens: env.MIN_OUTPUT_TOKENS,
    readinessRecheckMs: env.READINESS_RECHECK_MS,
    readinessRefreshMs: env.READINESS_REFRESH_MS,
    graphiqlEnabled: env.GRAPHIQL_ENABLED ?? !isProduction,
    graphqlExecution: env.GRAPHQL_EXECUTION,
    graphqlHttpPath: env.GRAPHQL_HTTP_PATH,
    logLevel: env.LOG_LEVEL,
    metricsToken: env.METRICS_TOKEN,
    tracing: tracingConfig(env),
    credits: { enforcement: env.CREDIT_ENFORCEMENT, defaultPlan: env.DEFAULT_PLAN, alertWebhook: alertWebhookConfig(env) },
  };
}

/** Node's build mode (not deployment configuration): strict development checks off in production builds. */
export const isProductionBuild = process.env.NODE_ENV === "production";
