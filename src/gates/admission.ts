// Who may use the API at the current rollout stage (Gate C):
// - no stage (development only): every authenticated user;
// - closed_beta: allow-listed users and admins;
// - broad: everyone, but only while the key-rotation gate passes; otherwise
//   the server stays closed (closed_beta rules) and systemStatus says why.
import type { AppConfig } from "../config/env.ts";
import type { Db } from "../db.ts";
import type { GateState } from "./readiness.ts";

const ALLOWLIST_CACHE_MS = 30_000;

export interface AdmissionSubject {
  id: string;
  adminRole: "owner" | "analyst" | null;
}

export class Admission {
  private readonly allowlistCache = new Map<string, { allowed: boolean; expiresAt: number }>();

  constructor(
    private readonly config: AppConfig,
    private readonly prisma: Db,
    /** Gate C as last checked. */
    private readonly keyRotationGate: () => GateState,
  ) {}

  /** The stage actually in force: broad falls back to closed_beta while Gate C fails. */
  effectiveStage(): AppConfig["rolloutStage"] {
    const stage = this.config.rolloutStage;
    return stage === "broad" && !this.keyRotationGate().ok ? "closed_beta" : stage;
  }

  async isAdmitted(subject: AdmissionSubject): Promise<boolean> {
    const stage = this.effectiveStage();
    if (stage === null || stage === "broad" || subject.adminRole !== null) return true;
    return this.isAllowlisted(subject.id);
  }

  forget(userId?: string): void {
    if (userId) this.allowlistCache.delete(userId);
    else this.allowlistCache.clear();
  }

  private async isAllowlisted(userId: string): Promise<boolean> {
    const cached = this.allowlistCache.get(userId);
    if (cached && cached.expiresAt > Date.now()) return cached.allowed;
    const entry = await this.prisma.betaAllowlistEntry.findUnique({ where: { userId }, select: { userId: true } });
    const allowed = entry !== null;
    this.allowlistCache.set(userId, { allowed, expiresAt: Date.now() + ALLOWLIST_CACHE_MS });
    return allowed;
  }
}
