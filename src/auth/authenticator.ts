// Turns a request's bearer token into the viewer. The users row is created on
// the first authenticated request; a short in-process cache of known users
// keeps hot paths free of a lookup per request. While Gate A is closed no SQL
// is sent: the viewer comes from the token alone and is not admitted.
import { GraphQLError } from "graphql";
import type { AppConfig } from "../config/env.ts";
import type { Db } from "../db.ts";
import type { Admission } from "../gates/admission.ts";
import type { Readiness } from "../gates/readiness.ts";
import type { Viewer } from "./viewer.ts";
import type { RequestHead } from "./requestHead.ts";
import { ExpiredTokenError, InvalidTokenError, TokenVerifier, type VerifiedIdentity } from "./tokens.ts";

const KNOWN_USER_TTL_MS = 30_000;
const KNOWN_USER_CACHE_MAX = 10_000;
const VERIFIED_TOKEN_TTL_MS = 60_000;
const VERIFIED_TOKEN_CACHE_MAX = 10_000;
const BEARER = /^Bearer\s+(\S+)$/i;

type AdminRole = Viewer["adminRole"];

interface KnownUser {
  adminRole: AdminRole;
  suspended: boolean;
}

export function unauthenticated(): GraphQLError {
  return new GraphQLError("The access token is missing, malformed, expired or not accepted.", {
    extensions: { code: "UNAUTHENTICATED", http: { status: 401 } },
  });
}

function expired(expiredAt: Date | null): GraphQLError {
  return new GraphQLError(`The access token expired${expiredAt ? ` at ${expiredAt.toISOString()}` : ""}: sign in again for a new one.`, {
    extensions: { code: "UNAUTHENTICATED", reason: "TOKEN_EXPIRED", http: { status: 401 } },
  });
}

export class Authenticator {
  private readonly verifier: TokenVerifier;
  private readonly knownUsers = new Map<string, KnownUser & { expiresAt: number }>();
  /** Tokens already verified, until their `exp` (at most a minute): a client sends the same token many times. */
  private readonly verifiedTokens = new Map<string, { identity: VerifiedIdentity; until: number }>();

  constructor(private readonly services: { config: AppConfig; prisma: Db; readiness: Readiness; admission: Admission }) {
    this.verifier = new TokenVerifier(services.config);
  }

  /** Null without credentials; throws UNAUTHENTICATED for credentials that do not verify. */
  async viewerFor(request: RequestHead): Promise<Viewer | null> {
    const header = request.headers.get("authorization");
    if (header === null || header.trim() === "") return null;
    const token = BEARER.exec(header.trim())?.[1];
    if (!token) throw unauthenticated();
    const identity = await this.verify(token);
    if (!this.services.readiness.migrations().ok) return { id: identity.id, adminRole: null, admitted: false, suspended: false };
    const { adminRole, suspended } = await this.ensureUser(identity);
    // A suspended account is admitted nowhere: every field that needs a signed-in user answers FORBIDDEN.
    const admitted = !suspended && (await this.services.admission.isAdmitted({ id: identity.id, adminRole }));
    return { id: identity.id, adminRole, admitted, suspended };
  }

  /** Drops cached users, e.g. after an admin role changed. */
  forget(userId?: string): void {
    if (userId) this.knownUsers.delete(userId);
    else this.knownUsers.clear();
  }

  private async verify(token: string): Promise<VerifiedIdentity> {
    const now = Date.now();
    const cached = this.verifiedTokens.get(token);
    if (cached && cached.until > now) return cached.identity;
    try {
      const identity = await this.verifier.verify(token);
      if (this.verifiedTokens.size >= VERIFIED_TOKEN_CACHE_MAX) this.verifiedTokens.clear();
      this.verifiedTokens.set(token, { identity, until: Math.min(identity.expiresAt, now + VERIFIED_TOKEN_TTL_MS) });
      return identity;
    } catch (error) {
      if (error instanceof ExpiredTokenError) throw expired(error.expiredAt);
      if (error instanceof InvalidTokenError) throw unauthenticated();
      throw error;
    }
  }

  private async ensureUser(identity: VerifiedIdentity): Promise<KnownUser> {
    const cached = this.knownUsers.get(identity.id);
    if (cached && cached.expiresAt > Date.now()) return cached;
    const { prisma } = this.services;
    const select = { adminRole: true, suspendedAt: true } as const;
    let user = await prisma.user.findUnique({ where: { id: identity.id }, select });
    if (!user) {
      // skipDuplicates: two first requests of the same user may race.
      await prisma.user.createMany({ data: [{ id: identity.id, email: identity.email }], skipDuplicates: true });
      user = await prisma.user.findUniqueOrThrow({ where: { id: identity.id }, select });
    }
    const known = { adminRole: user.adminRole, suspended: user.suspendedAt !== null };
    if (this.knownUsers.size >= KNOWN_USER_CACHE_MAX) this.knownUsers.clear();
    this.knownUsers.set(identity.id, { ...known, expiresAt: Date.now() + KNOWN_USER_TTL_MS });
    return known;
  }
}
