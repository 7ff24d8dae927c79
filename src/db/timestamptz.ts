// timestamptz values as Dates, read by position. PostgreSQL writes them as
// "2026-12-07 21:34:18.027123+00" (DateStyle ISO; the offset in hours, or
// hours and minutes), and pg's parser (postgres-date) reads every one with
// three regular expressions: 1.3 µs against 0.3–0.5 µs here, about 6% of the
// server's CPU for a sessions page (docs/development.md). Anything else
// (infinity, BC, years before 100, an offset with seconds, another DateStyle)
// goes to postgres-date, so the answer is always pg's own.
import pg from "pg";

const TIMESTAMPTZ_OID = 1184;
const defaultParser = pg.types.getTypeParser(TIMESTAMPTZ_OID, "text") as (text: string) => Date | number | null;

const digit = (text: string, at: number) => text.charCodeAt(at) - 48;
const twoDigits = (text: string, at: number) => digit(text, at) * 10 + digit(text, at + 1);
const isDigit = (code: number) => code >= 48 && code <= 57;
/** Where "YYYY-MM-DD HH:MM:SS" has its digits. */
const DIGIT_POSITIONS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18] as const;

/** The instant PostgreSQL wrote, truncated to the millisecond as postgres-date truncates it. */
export function parseTimestamptz(text: string): Date | number | null {
  const length = text.length;
  if (length < 22 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(10) !== 32 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) {
    return defaultParser(text);
  }
  for (const position of DIGIT_POSITIONS) if (!isDigit(text.charCodeAt(position))) return defaultParser(text);
  let at = 19;
  let milliseconds = 0;
  if (text.charCodeAt(at) === 46) {
    // Up to six digits of fraction; the first three are the milliseconds, the rest are cut.
    let scale = 100;
    for (at = 20; at < length && isDigit(text.charCodeAt(at)); at++) {
      milliseconds += digit(text, at) * scale;
      scale /= 10;
    }
    milliseconds = Math.trunc(milliseconds);
  }
  const sign = text.charCodeAt(at) === 43 ? 1 : text.charCodeAt(at) === 45 ? -1 : 0;
  const year = twoDigits(text, 0) * 100 + twoDigits(text, 2);
  const offsetLength = length - at;
  let offsetMinutes: number;
  if (sign !== 0 && offsetLength === 3 && isDigit(text.charCodeAt(at + 1)) && isDigit(text.charCodeAt(at + 2))) {
    offsetMinutes = twoDigits(text, at + 1) * 60;
  } else if (
    sign !== 0 && offsetLength === 6 && text.charCodeAt(at + 3) === 58 &&
    isDigit(text.charCodeAt(at + 1)) && isDigit(text.charCodeAt(at + 2)) && isDigit(text.charCodeAt(at + 4)) && isDigit(text.charCodeAt(at + 5))
  ) {
    offsetMinutes = twoDigits(text, at + 1) * 60 + twoDigits(text, at + 4);
  } else {
    return defaultParser(text);
  }
  // Date.UTC reads years 0 to 99 as 1900 to 1999.
  if (year < 100) return defaultParser(text);
  const utc = Date.UTC(year, twoDigits(text, 5) - 1, twoDigits(text, 8), twoDigits(text, 11), twoDigits(text, 14), twoDigits(text, 17), milliseconds);
  return new Date(utc - sign * offsetMinutes * 60_000);
}

/** The pool's type parsers: pg's own, but timestamptz read by parseTimestamptz (Prisma passes its own parsers with each query). */
export const poolTypeParsers = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    return oid === TIMESTAMPTZ_OID && format !== "binary" ? parseTimestamptz : pg.types.getTypeParser(oid, format);
  },
};
