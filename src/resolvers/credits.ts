// Wallets and credit transactions (SPEC 13): a user's own wallet, and the
// owner's grants and adjustments. The arithmetic lives in the credits
// migration's functions, so every writer keeps the same invariants.
import { z } from "zod";
import type { Context } from "../context.ts";
import { ConflictError, NotFoundError } from "../errors.ts";
import { Prisma } from "../generated/prisma/client.ts";
import { decodeId, parseInput, STORABLE_MESSAGE } from "./input.ts";
import { viewerId } from "./viewer.ts";
import { isStorableText } from "../db/storableText.ts";

export interface WalletView {
  plan: string;
  allowance: string;
  granted: string;
  held: string;
  available: string;
  periodStart: Date;
  periodEnd: Date;
}

interface WalletRow {
  plan: string;
  allowance: string;
  granted: string;
  held: string;
  period_start: string;
}

/** The first instant of the month after `periodStart` (a UTC date). */
function periodEndOf(periodStart: string): Date {
  const start = new Date(`${periodStart}T00:00:00Z`);
  return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
}

/** The user's wallet in the current period; reading it is activity, so a new month's allowance is granted here too. */
export async function currentWallet(context: Context, userId = viewerId(context)): Promise<WalletView> {
  const { rows } = await context.pool.query<WalletRow>(
    "SELECT plan, allowance::text, granted::text, held::text, to_char(period_start, 'YYYY-MM-DD') AS period_start FROM credit_wallet_current($1::uuid, $2)",
    [userId, context.config.credits.defaultPlan],
  );
  const row = rows[0]!;
  const available = new Prisma.Decimal(row.allowance).add(row.granted).sub(row.held).toFixed(4);
  return { plan: row.plan, allowance: row.allowance, granted: row.granted, held: row.held, available, periodStart: new Date(`${row.period_start}T00:00:00Z`), periodEnd: periodEndOf(row.period_start) };
}

const MAX_GRANT = new Prisma.Decimal("1000000");

const grantInput = z.object({
  userId: z.string(),
  kind: z.enum(["grant", "adjustment"]),
  amount: z
    .string()
    .refine((value) => /^-?\d{1,7}(\.\d{1,4})?$/.test(value), "must be a decimal with at most 4 places")
    .transform((value) => new Prisma.Decimal(value))
    .refine((value) => !value.isZero() && value.abs().lte(MAX_GRANT), "must be non-zero and at most 1000000 in size"),
  idempotencyKey: z.string().trim().min(8, "must be at least 8 characters").max(150, "must be at most 150 characters").regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces"),
  note: z.string().trim().max(500, "must be at most 500 characters").refine(isStorableText, STORABLE_MESSAGE).nullish(),
}).refine((input) => input.kind === "adjustment" || input.amount.gt(0), { message: "a grant must be positive (use an adjustment to take credits back)", path: ["amount"] });

export interface CreditGrantInput {
  userId: string;
  kind: "grant" | "adjustment";
  amount: string;
  idempotencyKey: string;
  note?: string | null;
}

/** Owner only: grants (or adjusts) a user's credits, once per idempotency key; a retry returns the first transaction. */
export async function grantCredits(input: CreditGrantInput, context: Context) {
  const parsed = parseInput(grantInput, input);
  const userId = decodeId(parsed.userId, "User");
  const actorId = viewerId(context);
  const key = `admin:${parsed.idempotencyKey}`;
  if (!(await context.prisma.user.findUnique({ where: { id: userId }, select: { id: true } }))) throw new NotFoundError("User");
  const { rows } = await context.pool.query<{ id: string; user_id: string; kind: string; amount: string }>(
    "SELECT id, user_id, kind::text, amount::text FROM credit_grant($1::uuid, $2::credit_transaction_kind, $3::numeric, $4::uuid, $5, $6, $7, $8)",
    [userId, parsed.kind, parsed.amount.toFixed(4), actorId, `user:${actorId}`, key, parsed.note ?? null, context.config.credits.defaultPlan],
  );
  const recorded = rows[0]!;
  if (recorded.user_id !== userId || recorded.kind !== parsed.kind || !new Prisma.Decimal(recorded.amount).eq(parsed.amount)) {
    throw new ConflictError("This idempotency key was used for a different grant.");
  }
  return context.prisma.creditTransaction.findUniqueOrThrow({ where: { id: recorded.id } });
}
