// The custom scalars. A value that is not one of the scalar's is refused where
// GraphQL coerces it (a variable before execution, a literal in validation),
// with a message saying what is expected; http/typedArgumentErrors.ts gives
// the refusal its code. Ranges belong to each field's zod schema, which
// answers with a ValidationError naming the field.
import { GraphQLError, Kind, type ValueNode } from "graphql";
import { builder } from "../builder.ts";

const DATE_TIME_MESSAGE = 'DateTime must be an ISO 8601 date and time with its offset, e.g. "2026-05-01T09:30:00Z".';
/** Date, time and an explicit offset: without one, the instant would depend on the server's zone. */
const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/** The instant, or null when the text is not one; Date would roll 2026-02-30 over into March. */
function parseInstant(text: string): Date | null {
  const match = ISO_INSTANT.exec(text);
  if (!match) return null;
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, offsetHour = 0, offsetMinute = 0] = match.slice(1).map((part) => Number(part ?? 0));
  const daysInMonth = new Date(new Date(0).setUTCFullYear(year, month, 0)).getUTCDate();
  const inCalendar = month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth;
  const inClock = hour <= 23 && minute <= 59 && second <= 59 && offsetHour <= 23 && offsetMinute <= 59;
  const date = new Date(text);
  return inCalendar && inClock && !Number.isNaN(date.getTime()) ? date : null;
}

function dateTimeOf(value: unknown, node?: ValueNode): Date {
  const date = typeof value === "string" ? parseInstant(value) : null;
  if (!date) throw new GraphQLError(DATE_TIME_MESSAGE, { nodes: node });
  return date;
}

/** An instant as Date#toISOString writes it (and isoInstant in SQL, db/sql.ts): written as it is, not parsed again. */
const WRITTEN_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

builder.scalarType("DateTime", {
  description: "An instant in time, ISO 8601 in UTC.",
  serialize: (value) => (typeof value === "string" && WRITTEN_INSTANT.test(value) ? value : (value instanceof Date ? value : new Date(value as string)).toISOString()),
  parseValue: (value) => dateTimeOf(value),
  parseLiteral: (ast) => dateTimeOf(ast.kind === Kind.STRING ? ast.value : undefined, ast),
});

const DECIMAL_MESSAGE = 'Decimal must be a string of digits with an optional "-" and fraction, e.g. "12.5" (a JSON number could lose digits).';
/** What a numeric column prints: no exponent, sign "+", spaces, NaN or Infinity. */
const DECIMAL_PATTERN = /^-?\d+(\.\d+)?$/;

function decimalOf(value: unknown, node?: ValueNode): string {
  if (typeof value !== "string" || !DECIMAL_PATTERN.test(value)) throw new GraphQLError(DECIMAL_MESSAGE, { nodes: node });
  return value;
}

builder.scalarType("Decimal", {
  description: "An exact decimal number as a string (money and credits are never floats).",
  serialize: (value) => String(value),
  parseValue: (value) => decimalOf(value),
  parseLiteral: (ast) => decimalOf(ast.kind === Kind.STRING ? ast.value : undefined, ast),
});

builder.scalarType("JSON", {
  description: "Arbitrary JSON.",
  serialize: (value) => value,
  parseValue: (value) => value,
});
