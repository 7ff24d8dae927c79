// The environment contract: one message listing every problem, by name only.
import { describe, expect, test } from "vitest";
import { ConfigError, loadConfig } from "../src/config/env.ts";

const SECRET_KEY = "sk-or-v1-this-value-must-never-be-printed-anywhere";
const SECRET_DB_PASSWORD = "hunter2-db-password";

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

function message(env: Record<string, string>): string {
  try {
    loadConfig(env);
    return "";
  } catch (error) {
    return (error as Error).message;
  }
}

const production = {
  APP_ENV: "production",
  DATABASE_URL: `postgresql://app:${SECRET_DB_PASSWORD}@db.example.supabase.co:5432/postgres`,
  DATABASE_POOL_URL: `postgresql://app:${SECRET_DB_PASSWORD}@pooler.supabase.com:6543/postgres`,
  SUPABASE_URL: "https://project.supabase.co",
  SUPABASE_SERVICE_ROLE_KEY: "service-role-key-of-sufficient-length",
  OPENROUTER_API_KEY: SECRET_KEY,
  ROLLOUT_STAGE: "closed_beta",
};

describe("environment contract", () => {
  test("development needs no configuration at all", () => {
    const config = loadConfig({});
    expect(config.appEnv).toBe("development");
    expect(config.database).toBeNull();
    expect(config.llm.provider).toBe("local");
    expect(config.rateLimit).toEqual({ turnsPerMinute: 10, turnsPerHour: 60 });
    expect(config.contextMaxOutputTokens).toBe(2048);
  });

  test("production with nothing set names every missing variable in one message", () => {
    const found = problems({ APP_ENV: "production" });
    for (const name of ["DATABASE_URL", "DATABASE_POOL_URL", "SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY", "OPENROUTER_API_KEY", "ROLLOUT_STAGE"]) {
      expect(found.some((problem) => problem.startsWith(`${name} `)), name).toBe(true);
    }
    expect(message({ APP_ENV: "production" }).split("\n").length).toBe(found.length + 1);
  });

  test("a complete production environment parses; its pool connection is a transaction pooler unless declared otherwise", () => {
    const config = loadConfig(production);
    expect(config.database?.poolMode).toBe("transaction");
    expect(config.llm.provider).toBe("openrouter");
    expect(config.graphiqlEnabled).toBe(false);
    expect(config.auth.jwksUrl).toBe("https://project.supabase.co/auth/v1/.well-known/jwks.json");
  });

  test("the pool connection is what DATABASE_POOL_MODE declares, transaction by default with DATABASE_POOL_URL, never guessed from a port", () => {
    const neon = { ...production, DATABASE_POOL_URL: "postgresql://app@ep-x-pooler.eu-central-1.aws.neon.tech:5432/neondb" };
    expect(loadConfig(neon).database?.poolMode).toBe("transaction");
    expect(loadConfig({ ...neon, DATABASE_POOL_MODE: "session" }).database?.poolMode).toBe("session");
    expect(loadConfig({ ...production, DATABASE_POOL_URL: "", APP_ENV: "staging" }).database?.poolMode).toBe("direct");
    expect(problems({ ...production, DATABASE_POOL_MODE: "direct" })).toEqual([
      "DATABASE_POOL_MODE says the pool connection keeps sessions, but DATABASE_POOL_URL names a transaction pooler (port 6543 or pgbouncer=true): set DATABASE_POOL_MODE=transaction",
    ]);
    expect(problems({ ...production, DATABASE_POOL_MODE: "pgbouncer" })[0]).toBe("DATABASE_POOL_MODE has an unsupported value (allowed: direct, session, transaction)");
  });

  test.each([
    ["DATABASE_URL", "not a url", "DATABASE_URL must be a URL"],
    ["DATABASE_POOL_URL", "mysql://x@y/z", "DATABASE_POOL_URL must be a postgres:// or postgresql:// URL"],
    ["OPENROUTER_BASE_URL", "ftp://example.com", "OPENROUTER_BASE_URL must be an http(s) URL"],
    ["PORT", "eighty", "PORT must be a number"],
    ["RATE_LIMIT_TURNS_PER_MINUTE", "-3", "RATE_LIMIT_TURNS_PER_MINUTE must be positive"],
    ["CONTEXT_MAX_OUTPUT_TOKENS", "1.5", "CONTEXT_MAX_OUTPUT_TOKENS must be a whole number"],
    ["APP_ENV", "prod", "APP_ENV has an unsupported value (allowed: development, test, staging, production)"],
    ["ROLLOUT_STAGE", "everyone", "ROLLOUT_STAGE has an unsupported value (allowed: closed_beta, broad)"],
    ["ALERT_WEBHOOK_URL", "https://hooks.example.com/pantheon", "ALERT_WEBHOOK_SECRET is required with ALERT_WEBHOOK_URL"],
    ["ALERT_WEBHOOK_SECRET", "short", "ALERT_WEBHOOK_SECRET must be at least 16 characters"],
    ["CREDIT_ENFORCEMENT", "strict", "CREDIT_ENFORCEMENT has an unsupported value (allowed: off, warn, enforce)"],
  ])("rejects a malformed %s", (name, value, expected) => {
    expect(problems({ ...production, [name]: value }).some((problem) => problem.startsWith(expected))).toBe(true);
  });

  test("a low-balance webhook needs its signing secret, and is off without a URL", () => {
    expect(loadConfig(production).credits.alertWebhook).toBeNull();
    const config = loadConfig({ ...production, ALERT_WEBHOOK_URL: "https://hooks.example.com/pantheon", ALERT_WEBHOOK_SECRET: "sixteen-chars-or-more" });
    expect(config.credits.alertWebhook).toMatchObject({ url: "https://hooks.example.com/pantheon", retryBaseMs: 5_000, maxAttempts: 10 });
    expect(message({ ...production, ALERT_WEBHOOK_URL: "https://hooks.example.com/pantheon", ALERT_WEBHOOK_SECRET: "tiny-secret" })).not.toContain("tiny-secret");
  });

  test("no secret value appears in any error output", () => {
    const broken = {
      ...production,
      DATABASE_URL: `postgresql://app:${SECRET_DB_PASSWORD}@`,
      OPENROUTER_BASE_URL: `not-a-url-${SECRET_KEY}`,
      SUPABASE_JWT_SECRET: "jwt-secret-x9",
      SUPABASE_SERVICE_ROLE_KEY: "srk-q7",
      PORT: SECRET_KEY,
    };
    const text = message(broken);
    expect(text).toContain("Invalid configuration");
    for (const secret of [SECRET_KEY, SECRET_DB_PASSWORD, "jwt-secret-x9", "srk-q7"]) expect(text).not.toContain(secret);
  });
});
