// A development-only HS256 secret so `npm run token` works with no Supabase
// project. It is public (it is in the source), so production never uses it.
import type { AppConfig } from "../config/env.ts";

export const DEV_ONLY_JWT_SECRET = "pantheon-dev-only-jwt-secret-never-use-in-production";

/** The HS256 secret to verify (and, in development, sign) tokens with, if any. */
export function hs256Secret(config: AppConfig): string | undefined {
  if (config.auth.jwtSecret) return config.auth.jwtSecret;
  return config.appEnv === "development" || config.appEnv === "test" ? DEV_ONLY_JWT_SECRET : undefined;
}

export function assertNoDevSecretInProduction(config: AppConfig): void {
  if (config.isProduction && config.auth.jwtSecret === DEV_ONLY_JWT_SECRET) {
    throw new Error("SUPABASE_JWT_SECRET is the public development secret; production refuses it");
  }
}
