// A credit amount as it crosses the API: a decimal string with at most four
// places (the ledger's scale), bounded, so nothing rounds silently.
import { z } from "zod";
import { Prisma } from "../generated/prisma/client.ts";

export const MAX_CREDIT_AMOUNT = new Prisma.Decimal("1000000");

export const signedCreditAmount = z
  .string()
  .refine((value) => /^-?\d{1,7}(\.\d{1,4})?$/.test(value), "must be a decimal with at most 4 places")
  .transform((value) => new Prisma.Decimal(value));

/** Zero or more, at most MAX_CREDIT_AMOUNT. */
export const creditLimit = signedCreditAmount.refine((value) => value.gte(0) && value.lte(MAX_CREDIT_AMOUNT), "must be between 0 and 1000000");

/** The first instant of the month after `periodStart` (a UTC date, YYYY-MM-DD). */
export function periodEndOf(periodStart: string): Date {
  const start = new Date(`${periodStart}T00:00:00Z`);
  return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
}
