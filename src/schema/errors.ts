import { builder } from "../builder.ts";
import { visibleReasons } from "./readinessDirective.ts";
import {
  ConflictError,
  ContextBudgetExceededError,
  DomainError,
  ERROR_CODES,
  ForbiddenError,
  NoValidTagsError,
  InsufficientCreditsError,
  RoomBudgetExceededError,
  NotFoundError,
  NotReadyError,
  RateLimitedError,
  ValidationError,
  type FieldIssue,
} from "../errors.ts";

export const ErrorCode = builder.enumType("ErrorCode", { values: ERROR_CODES });

export const ErrorInterface = builder.interfaceRef<DomainError>("Error").implement({
  fields: (t) => ({
    code: t.field({ type: ErrorCode, resolve: (error) => error.code }),
    message: t.exposeString("message"),
  }),
});

const FieldIssueRef = builder.objectRef<FieldIssue>("FieldIssue").implement({
  fields: (t) => ({
    path: t.exposeStringList("path"),
    message: t.exposeString("message"),
  }),
});

export const ValidationErrorRef = builder.objectType(ValidationError, {
  name: "ValidationError",
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ValidationError,
  fields: (t) => ({ issues: t.field({ type: [FieldIssueRef], resolve: (error) => error.issues }) }),
});

export const NotFoundErrorRef = builder.objectType(NotFoundError, {
  name: "NotFoundError",
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof NotFoundError,
});

export const ForbiddenErrorRef = builder.objectType(ForbiddenError, {
  name: "ForbiddenError",
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ForbiddenError,
});

export const ConflictErrorRef = builder.objectType(ConflictError, {
  name: "ConflictError",
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ConflictError,
});

export const NotReadyErrorRef = builder.objectType(NotReadyError, {
  name: "NotReadyError",
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof NotReadyError,
  fields: (t) => ({
    gate: t.exposeString("gate"),
    reasons: t.stringList({
      description: "Why the gate is closed; empty unless the viewer is an admin or the server is not in production.",
      resolve: (error, _args, context) => visibleReasons(error.reasons, context),
    }),
  }),
});

export const NoValidTagsErrorRef = builder.objectType(NoValidTagsError, {
  name: "NoValidTagsError",
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof NoValidTagsError,
  fields: (t) => ({ availableAgentKeys: t.exposeStringList("availableAgentKeys") }),
});

export const ContextBudgetExceededErrorRef = builder.objectType(ContextBudgetExceededError, {
  name: "ContextBudgetExceededError",
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ContextBudgetExceededError,
  fields: (t) => ({ inputBudget: t.exposeInt("inputBudget"), estimatedTokens: t.exposeInt("estimatedTokens") }),
});

export const RateLimitedErrorRef = builder.objectType(RateLimitedError, {
  name: "RateLimitedError",
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof RateLimitedError,
  fields: (t) => ({ retryAfterSeconds: t.exposeInt("retryAfterSeconds") }),
});

export const InsufficientCreditsErrorRef = builder.objectType(InsufficientCreditsError, {
  name: "InsufficientCreditsError",
  description: "Not even the turn's first call fits in the available credits, with its answer lowered to MIN_OUTPUT_TOKENS (CREDIT_ENFORCEMENT enforce). Nothing was written.",
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof InsufficientCreditsError,
  fields: (t) => ({
    required: t.expose("required", { type: "Decimal", description: "The least the first call needs held: its bound with the lowest output worth asking for." }),
    available: t.expose("available", { type: "Decimal", description: "Allowance plus granted credits, less what running calls hold." }),
  }),
});

export const RoomBudgetExceededErrorRef = builder.objectType(RoomBudgetExceededError, {
  name: "RoomBudgetExceededError",
  description: "Not even the turn's first call, its answer lowered to MIN_OUTPUT_TOKENS, fits in what is left of the room's monthly credit budget (CREDIT_ENFORCEMENT enforce). Nothing was written.",
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof RoomBudgetExceededError,
  fields: (t) => ({
    required: t.expose("required", { type: "Decimal", description: "The least the first call needs held: its bound with the lowest output worth asking for." }),
    available: t.expose("available", { type: "Decimal", description: "The room's budget less this month's spending in it and its running calls' holds." }),
    monthlyBudget: t.expose("monthlyBudget", { type: "Decimal", description: "The cap its owner set (Room.creditBudget)." }),
  }),
});

/** Error members every DB-backed mutation result includes. */
export const BASE_MUTATION_ERRORS = [ValidationError, NotFoundError, ForbiddenError, NotReadyError] as const;
