// Prisma error translation for the resolvers' writes.
import { ConflictError } from "../errors.ts";
import { Prisma } from "../generated/prisma/client.ts";

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
