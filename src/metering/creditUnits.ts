// Amounts at the ledger's scale (numeric(20,4): credits, OE tokens) as
// integers of 0.0001. A call's bound, its hold and its charge are computed in
// these (charge.ts, callBound.ts, credits/callFunding.ts): exact, as the
// ledger's columns are, and cheap enough for every call.
import { formatUnits, inUnits } from "./fixedScale.ts";

/** An amount at the ledger's scale as an integer number of 0.0001. */
export type CreditUnits = bigint;

export const CREDIT_SCALE = 4;

/** The amount as the ledger writes it: four places ("0.1036"). */
export function creditsText(units: CreditUnits): string {
  return formatUnits(units, CREDIT_SCALE);
}

/** A plain decimal with at most four places (as PostgreSQL writes a numeric(20,4)) in units; throws on anything else. */
export function creditUnits(text: string): CreditUnits {
  const units = inUnits(text, CREDIT_SCALE);
  if (units === null) throw new RangeError(`not an amount at the ledger's scale: ${JSON.stringify(text)}`);
  return units;
}

export function maxUnits(a: CreditUnits, b: CreditUnits): CreditUnits {
  return a > b ? a : b;
}

export function minUnits(a: CreditUnits, b: CreditUnits): CreditUnits {
  return a < b ? a : b;
}
