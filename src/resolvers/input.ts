// Boundary helpers shared by the room, agent and session resolvers: zod
// parsing into ValidationError, id decoding, Prisma error translation.
import type { z } from "zod";
import { ConflictError, NotFoundError, ValidationError } from "../errors.ts";
import { Prisma } from "../generated/prisma/client.ts";

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

export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError) || error.code !== "P2002") return false;
  if (!constraint) return true;
  return JSON.stringify(error.meta ?? {}).includes(constraint);
}

/** Runs a write, turning a unique violation into the given conflict. */
export async function conflictOnUnique<T>(write: () => Promise<T>, message: string): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isUniqueViolation(error)) throw new ConflictError(message);
    throw error;
  }
}
