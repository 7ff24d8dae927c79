// Decimal amounts at a fixed number of places as integers of their smallest
// unit (bigint): exact, and about ten times cheaper than Decimal objects on
// the paths every call takes (its bound, its charge, the running sums).
const PLAIN_DECIMAL = /^(-?)(\d+)(?:\.(\d*))?$/;

/** `value` in units of 10^-scale, or null when it is not a plain decimal with at most `scale` places. */
export function inUnits(value: string, scale: number): bigint | null {
  const match = PLAIN_DECIMAL.exec(value);
  if (!match) return null;
  const [, sign, whole, fraction = ""] = match;
  if (fraction.length > scale) return null;
  const units = BigInt(whole! + fraction.padEnd(scale, "0"));
  return sign ? -units : units;
}

/** `units` of 10^-scale written with `scale` places, as Decimal's toFixed(scale) writes it (a zero has no sign). */
export function formatUnits(units: bigint, scale: number): string {
  const digits = (units < 0n ? -units : units).toString().padStart(scale + 1, "0");
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return units < 0n ? `-${text}` : text;
}

/** numerator ÷ denominator rounded half up (away from zero at the half), for a non-negative numerator and a positive denominator. */
export function divideHalfUp(numerator: bigint, denominator: bigint): bigint {
  if (numerator < 0n || denominator <= 0n) throw new RangeError("divideHalfUp takes a non-negative numerator and a positive denominator");
  return (2n * numerator + denominator) / (2n * denominator);
}
