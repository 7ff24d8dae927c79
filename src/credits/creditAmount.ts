// A credit amount as it crosses the API: a decimal string with at most four
// places (the ledger's scale), bounded, so nothing rounds silently.
import { z } from "zod";
import { Prisma } from "../generated/prisma/client.ts";

export const MAX_CREDIT_AMOUNT = new Prisma.Decimal("1000000");

/** Why a decimal string is not a credit amount, or null when it is one. */
function amountProblem(value: string): string | null {
  const match = /^-?(\d+)(?:\.(\d+))?$/.exec(value);
  if (!match) return "must be a decimal number";
  if ((match[2]?.length ?? 0) > 4) return "must have at most 4 decimal places";
  if (match[1]!.replace(/^0+(?=\d)/, "").length > 7) return "must be at most 1000000 in size";
  return null;
}

export const signedCreditAmount = z
  .string()
  .superRefine((value, context) => {
    const problem = amountProblem(value);
    if (problem) context.addIssue({ code: "custom", message: problem });
  })
  .transform((value) => new Prisma.Decimal(value));

/** Zero or more, at most MAX_CREDIT_AMOUNT. */
export const creditLimit = signedCreditAmount.refine((value) => value.gte(0) && value.lte(MAX_CREDIT_AMOUNT), "must be between 0 and 1000000");

/** The first instant of the month after `periodStart` (a UTC date, YYYY-MM-DD). */
export function periodEndOf(periodStart: string): Date {
  const start = new Date(`${periodStart}T00:00:00Z`);
  return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
}
