// What the environment may say about credits (SPEC 13): the plan a new wallet
// opens on, the enforcement mode, and where low-balance webhooks go. The
// allowances themselves are data (credit_plans); these are the names.
export const CREDIT_PLANS = ["starter", "pro", "power"] as const;
export type CreditPlanName = (typeof CREDIT_PLANS)[number];

export const CREDIT_ENFORCEMENTS = ["off", "warn", "enforce"] as const;
export type CreditEnforcement = (typeof CREDIT_ENFORCEMENTS)[number];

export interface WalletWebhookConfig {
  url: string;
  secret: string;
  /** The first retry's delay; each later one doubles it (up to the sender's cap), with ±10% jitter. */
  retryBaseMs: number;
  maxAttempts: number;
  timeoutMs: number;
  pollMs: number;
}
