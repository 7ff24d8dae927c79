// Wallets and credit transactions (SPEC 13): a user's own wallet, and the
// owner's grants and adjustments. The arithmetic lives in the credits
// migration's functions, so every writer keeps the same invariants.
import { z } from "zod";
import type { Context } from "../context.ts";
import { NotFoundError } from "../errors.ts";
import { decodeId, parseInput, STORABLE_MESSAGE } from "../validation/input.ts";
import { viewerId } from "./viewer.ts";
import { isStorableText } from "../db/storableText.ts";
import { MAX_CREDIT_AMOUNT, signedCreditAmount } from "../credits/creditAmount.ts";
import { recordGrant, WALLET_COLUMNS, walletView, type WalletRow, type WalletView } from "../credits/adminSql.ts";
import { queryOne, sql } from "../db/sql.ts";

export type { WalletView };

/** The user's wallet in the current period; reading it is activity, so a new month's allowance is granted here too. */
export async function currentWallet(context: Context, userId = viewerId(context)): Promise<WalletView> {
  const row = await queryOne<WalletRow>(
    context.services.pool,
    sql`SELECT ${WALLET_COLUMNS} FROM credit_wallet_current(${userId}::uuid, ${context.services.config.credits.defaultPlan}) w JOIN credit_plans p ON p.plan = w.plan`,
  );
  return walletView(row!);
}

const grantInput = z.object({
  userId: z.string(),
  kind: z.enum(["grant", "adjustment"]),
  amount: signedCreditAmount.refine((value) => !value.isZero() && value.abs().lte(MAX_CREDIT_AMOUNT), "must be non-zero and at most 1000000 in size"),
  idempotencyKey: z.string().trim().min(8, "must be at least 8 characters").max(150, "must be at most 150 characters").regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces"),
  note: z.string().trim().max(500, "must be at most 500 characters").refine(isStorableText, STORABLE_MESSAGE).nullish(),
  allowNegativeBalance: z.boolean().nullish(),
}).refine((input) => input.kind === "adjustment" || input.amount.gt(0), {
  message: "a grant must be positive (use an adjustment to take credits back)",
  path: ["amount"],
  // zod runs an object's refinement after a field failed too: amount would still be the raw string.
  when: (payload) => payload.issues.length === 0,
});

export interface CreditGrantInput {
  userId: string;
  kind: "grant" | "adjustment";
  amount: string;
  idempotencyKey: string;
  note?: string | null;
  allowNegativeBalance?: boolean | null;
}

/** Owner only: grants (or adjusts) a user's credits, once per idempotency key; a retry returns the first transaction. */
export async function grantCredits(input: CreditGrantInput, context: Context) {
  const parsed = parseInput(grantInput, input);
  const userId = decodeId(parsed.userId, "User");
  const actorId = viewerId(context);
  if (!(await context.services.prisma.user.findUnique({ where: { id: userId }, select: { id: true } }))) throw new NotFoundError("User");
  const id = await recordGrant(
    context.services.pool,
    {
      userId,
      kind: parsed.kind,
      amount: parsed.amount,
      idempotencyKey: parsed.idempotencyKey,
      note: parsed.note ?? null,
      defaultPlan: context.services.config.credits.defaultPlan,
      allowNegativeBalance: parsed.allowNegativeBalance ?? false,
    },
    { userId: actorId, label: `user:${actorId}` },
  );
  return context.services.prisma.creditTransaction.findUniqueOrThrow({ where: { id } });
}
