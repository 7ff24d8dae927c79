// Verifies Supabase Auth access tokens: HS256 with the project's JWT secret,
// or asymmetric keys from the project's JWKS endpoint. Only the algorithms
// below are accepted, `aud` must be `authenticated` and `exp` must be present.
import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTVerifyGetKey } from "jose";
import { z } from "zod";
import type { AppConfig } from "../config/env.ts";
import { assertNoDevSecretInProduction, hs256Secret } from "./devSecret.ts";

export const TOKEN_AUDIENCE = "authenticated";
const SYMMETRIC_ALGORITHM = "HS256";
const ASYMMETRIC_ALGORITHMS = ["RS256", "ES256"];
const CLOCK_TOLERANCE_SECONDS = 5;

const claimsSchema = z.object({
  sub: z.string().uuid(),
  email: z.string().max(320).optional(),
  exp: z.number(),
});

export interface VerifiedIdentity {
  id: string;
  email: string | null;
  /** Epoch milliseconds of the token's `exp`. */
  expiresAt: number;
}

/** Any reason a token is refused; the reason itself is never shown to clients. */
export class InvalidTokenError extends Error {}

/**
 * A token whose signature verified but whose `exp` has passed: the one refusal
 * worth telling the client about, since signing in again fixes it.
 */
export class ExpiredTokenError extends InvalidTokenError {
  constructor(readonly expiredAt: Date | null) {
    super("token expired");
  }
}

export class TokenVerifier {
  private readonly secret: Uint8Array | null;
  private readonly jwks: JWTVerifyGetKey | null;

  constructor(config: AppConfig) {
    assertNoDevSecretInProduction(config);
    const secret = hs256Secret(config);
    this.secret = secret ? new TextEncoder().encode(secret) : null;
    this.jwks = config.auth.jwksUrl ? createRemoteJWKSet(new URL(config.auth.jwksUrl)) : null;
  }

  async verify(token: string): Promise<VerifiedIdentity> {
    let payload: unknown;
    try {
      payload = (await this.verifySignature(token)).payload;
    } catch (error) {
      if (error instanceof InvalidTokenError) throw error;
      // jose checks the signature before the claims: an expired token was genuinely signed.
      if (error instanceof errors.JWTExpired) throw new ExpiredTokenError(typeof error.payload.exp === "number" ? new Date(error.payload.exp * 1000) : null);
      throw new InvalidTokenError("token verification failed", { cause: error });
    }
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success) throw new InvalidTokenError("token claims are not a Supabase user's");
    return { id: claims.data.sub, email: claims.data.email ?? null, expiresAt: claims.data.exp * 1000 };
  }

  private verifySignature(token: string) {
    const options = { audience: TOKEN_AUDIENCE, requiredClaims: ["exp", "sub"], clockTolerance: CLOCK_TOLERANCE_SECONDS };
    const { alg } = decodeProtectedHeader(token);
    if (alg === SYMMETRIC_ALGORITHM && this.secret) {
      return jwtVerify(token, this.secret, { ...options, algorithms: [SYMMETRIC_ALGORITHM] });
    }
    if (alg && ASYMMETRIC_ALGORITHMS.includes(alg) && this.jwks) {
      return jwtVerify(token, this.jwks, { ...options, algorithms: ASYMMETRIC_ALGORITHMS });
    }
    throw new InvalidTokenError("token algorithm not accepted");
  }
}
