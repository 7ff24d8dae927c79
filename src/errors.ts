// Expected outcomes a client must handle. Resolvers throw these; the schema
// exposes them as union members implementing `Error` (src/schema/errors.ts).
// Anything else thrown is unexpected and masked by Yoga.

export const ERROR_CODES = [
  "VALIDATION_FAILED",
  "NOT_FOUND",
  "FORBIDDEN",
  "NOT_READY",
  "CONFLICT",
  "NO_VALID_TAGS",
  "CONTEXT_BUDGET_EXCEEDED",
  "RATE_LIMITED",
  "INSUFFICIENT_CREDITS",
  "ROOM_BUDGET_EXCEEDED",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export abstract class DomainError extends Error {
  abstract readonly code: ErrorCode;
}

export interface FieldIssue {
  /** Input field path, e.g. ["name"] or ["agentIds", "2"]. */
  path: string[];
  message: string;
}

export class ValidationError extends DomainError {
  readonly code = "VALIDATION_FAILED" as const;
  constructor(
    readonly issues: FieldIssue[],
    message = "The input is not valid.",
  ) {
    super(message);
  }
}

export class NotFoundError extends DomainError {
  readonly code = "NOT_FOUND" as const;
  constructor(readonly entity: string) {
    super(`${entity} not found.`);
  }
}

export class ForbiddenError extends DomainError {
  readonly code = "FORBIDDEN" as const;
  constructor(message = "You are not allowed to do this.") {
    super(message);
  }
}

export class ConflictError extends DomainError {
  readonly code = "CONFLICT" as const;
}

export class NotReadyError extends DomainError {
  readonly code = "NOT_READY" as const;
  constructor(
    readonly gate: string,
    /** Shown only to admins and outside production. */
    readonly reasons: string[],
    message = `The service is not ready: gate ${gate} is closed.`,
  ) {
    super(message);
  }
}

export class NoValidTagsError extends DomainError {
  readonly code = "NO_VALID_TAGS" as const;
  constructor(readonly availableAgentKeys: string[]) {
    super("The message tags no agent of this room. Tag one with @agentKey.");
  }
}

export class ContextBudgetExceededError extends DomainError {
  readonly code = "CONTEXT_BUDGET_EXCEEDED" as const;
  constructor(
    message: string,
    readonly inputBudget: number,
    readonly estimatedTokens: number,
  ) {
    super(message);
  }
}

export class RateLimitedError extends DomainError {
  readonly code = "RATE_LIMITED" as const;
  constructor(readonly retryAfterSeconds: number) {
    super(`Too many messages. Try again in ${retryAfterSeconds} s.`);
  }
}

export class InsufficientCreditsError extends DomainError {
  readonly code = "INSUFFICIENT_CREDITS" as const;
  /** Credits, as decimal strings. */
  constructor(
    readonly required: string,
    readonly available: string,
  ) {
    super(`Not enough credits: this message needs at least ${required} credits held for its first call and ${available} are available.`);
  }
}

export class RoomBudgetExceededError extends DomainError {
  readonly code = "ROOM_BUDGET_EXCEEDED" as const;
  /** Credits, as decimal strings. */
  constructor(
    readonly required: string,
    readonly available: string,
    readonly monthlyBudget: string,
  ) {
    super(`The room's monthly credit budget is reached: this message needs at least ${required} credits held for its first call and ${available} of the room's ${monthlyBudget} are left this month.`);
  }
}
