// Boundary parsing shared by every layer that takes input from outside:
// zod failures become a typed ValidationError, ids are checked before use.
import type { z } from "zod";
import { NotFoundError, ValidationError } from "../errors.ts";

/** Stored text cannot hold NUL or an unpaired UTF-16 surrogate: such input is refused, not repaired. */
export const STORABLE_MESSAGE = "must not contain NUL characters or unpaired surrogates";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function parseInput<Schema extends z.ZodType>(schema: Schema, input: unknown): z.output<Schema> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new ValidationError(parsed.error.issues.map((issue) => ({ path: issue.path.map(String), message: issue.message })));
}

/**
 * Ids are plain UUID strings. A malformed id names no row, so it is
 * NOT_FOUND like a missing or foreign one: clients see one outcome for every
 * id they cannot use.
 */
export function decodeId(raw: string | number, entity: string): string {
  const value = String(raw);
  if (!UUID.test(value)) throw new NotFoundError(entity);
  return value.toLowerCase();
}
