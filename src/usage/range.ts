// Report ranges: half-open [from, to) in UTC. A range is at most 366 days
// long and must not be empty; admin reports work on whole UTC days.
import { z } from "zod";
import { ValidationError } from "../errors.ts";

export const MAX_RANGE_DAYS = 366;
export const DAY_MS = 86_400_000;

export interface TimeRange {
  from: Date;
  to: Date;
}

/** Whole UTC days: from's day inclusive, to's day exclusive, as YYYY-MM-DD. */
export interface DayRange extends TimeRange {
  firstDay: string;
  endDay: string;
  days: number;
}

const isMidnightUtc = (date: Date) => date.getTime() % DAY_MS === 0;

const timeRangeSchema = z
  .object({ from: z.date(), to: z.date() })
  .refine((range) => range.from.getTime() < range.to.getTime(), { message: "from must be before to.", path: ["to"] })
  .refine((range) => range.to.getTime() - range.from.getTime() <= MAX_RANGE_DAYS * DAY_MS, {
    message: `A range covers at most ${MAX_RANGE_DAYS} days.`,
    path: ["to"],
  });

const dayRangeSchema = timeRangeSchema
  .refine((range) => isMidnightUtc(range.from), { message: "from must be a UTC midnight (admin reports count whole UTC days).", path: ["from"] })
  .refine((range) => isMidnightUtc(range.to), { message: "to must be a UTC midnight (admin reports count whole UTC days).", path: ["to"] });

function issuesOf(error: z.ZodError, prefix: string[]): ValidationError {
  return new ValidationError(error.issues.map((issue) => ({ path: [...prefix, ...issue.path.map(String)], message: issue.message })));
}

export function parseTimeRange(input: { from: Date; to: Date }, prefix: string[] = []): TimeRange {
  const parsed = timeRangeSchema.safeParse(input);
  if (!parsed.success) throw issuesOf(parsed.error, prefix);
  return parsed.data;
}

export function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export function parseDayRange(input: { from: Date; to: Date }, prefix: string[] = []): DayRange {
  const parsed = dayRangeSchema.safeParse(input);
  if (!parsed.success) throw issuesOf(parsed.error, prefix);
  const { from, to } = parsed.data;
  return { from, to, firstDay: isoDay(from), endDay: isoDay(to), days: (to.getTime() - from.getTime()) / DAY_MS };
}
