// Credit plans and enforcement modes (SPEC 13). Allowances live in the
// credit_plans table (seeded by the credits migration); these are the names.
export const CREDIT_PLANS = ["starter", "pro", "power"] as const;
export type CreditPlanName = (typeof CREDIT_PLANS)[number];

export const CREDIT_ENFORCEMENTS = ["off", "warn", "enforce"] as const;
export type CreditEnforcement = (typeof CREDIT_ENFORCEMENTS)[number];
