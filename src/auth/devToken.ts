// Signs development tokens shaped like Supabase's, with the development
// secret (or the configured HS256 secret). Refused in production.
import { createHash } from "node:crypto";
import { SignJWT } from "jose";
import type { AppConfig } from "../config/env.ts";
import { hs256Secret } from "./devSecret.ts";
import { TOKEN_AUDIENCE } from "./tokens.ts";

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A stable UUID per user name, so `--user alice` is the same user every time. */
export function devUserId(user: string): string {
  if (UUID_PATTERN.test(user)) return user.toLowerCase();
  const hex = createHash("sha256").update(`pantheon-dev-user:${user}`).digest("hex");
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export interface DevTokenOptions {
  user: string;
  email?: string;
  ttlSeconds: number;
}

export async function signDevToken(config: AppConfig, options: DevTokenOptions): Promise<string> {
  if (config.isProduction) throw new Error("dev tokens are refused in production");
  const secret = hs256Secret(config);
  if (!secret) throw new Error("no HS256 secret: set SUPABASE_JWT_SECRET or use APP_ENV=development");
  const id = devUserId(options.user);
  return new SignJWT({ email: options.email ?? `${options.user}@example.test`, role: "authenticated" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(id)
    .setAudience(TOKEN_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + options.ttlSeconds)
    .sign(new TextEncoder().encode(secret));
}
