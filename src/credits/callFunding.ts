// Before a provider call starts, its bound is held (SPEC 14). One object per
// turn (or per metered preview) carries what its calls hold, one call at a
// time: `fund` holds the next call's bound (lowering its max_tokens to what
// the balance allows, down to its kind's floor) and returns the request to
// send; `settle` hands the call's bound and hold to its ledger row, whose
// debit settles the cost and releases the rest. With no scope (CREDIT_
// ENFORCEMENT off, or a preview) nothing is held and only bounds are kept.
import { Prisma } from "../generated/prisma/client.ts";
import type { HotStatements } from "../db/statements.ts";
import type { Queryable } from "../db/sql.ts";
import type { LlmRequest } from "../llm/types.ts";
import { callBound, chargeOf, largestOutputWithin } from "../metering/callBound.ts";
import { outputFloorOf, type OutputLimits } from "../metering/callKinds.ts";
import type { CallLimits } from "../metering/ledger.ts";
import { holdForCall, refusalOf, type HoldOutcome, type HoldScope } from "./callHolds.ts";

const Decimal = Prisma.Decimal;
type Decimal = Prisma.Decimal;

/** A call could not be held: the turn stops before it (stop reason BUDGET). */
export class CallUnfunded extends Error {
  constructor(
    /** The least the call needed: its bound at its kind's output floor. */
    readonly required: Decimal,
    readonly refusal: Extract<HoldOutcome, { placed: false }>,
  ) {
    super(`not enough credits for the next call: it needs ${required.toFixed(4)}, ${refusal.refusedBy === "room" ? `the room has ${refusal.roomAvailable}` : `${refusal.available} are available`}`);
    this.name = "CallUnfunded";
  }
}

export interface FundingDeps {
  db: Queryable;
  prepared: HotStatements | undefined;
  limits: OutputLimits;
}

/**
 * Holds `request`'s bound beyond `alreadyHeld`: the whole bound if the balance
 * allows, else what is available down to the bound at its kind's floor.
 */
async function holdBound(deps: FundingDeps, scope: HoldScope, request: LlmRequest, alreadyHeld: Decimal) {
  const bound = callBound(request);
  if (alreadyHeld.gte(bound.credits)) return { bound, held: alreadyHeld };
  const floor = Math.min(request.maxOutputTokens, outputFloorOf(request.callKind, request.modelAlias, deps.limits));
  const needed = chargeOf(request.modelAlias, bound.inputTokens, floor);
  const outcome = await holdForCall(deps.db, deps.prepared, scope, bound.credits.sub(alreadyHeld), Decimal.max(0, needed.sub(alreadyHeld)));
  if (!outcome.placed) return { bound, needed, refusal: outcome };
  return { bound, held: alreadyHeld.add(outcome.held) };
}

/**
 * At accept, in the accepting transaction: holds the turn's first call (the
 * turn's hold opens with it). A send whose first call cannot be held even at
 * its floor is refused (InsufficientCreditsError or RoomBudgetExceededError,
 * `required` that floor's bound) and the caller rolls back.
 */
export async function holdFirstCall(deps: FundingDeps, scope: HoldScope, request: LlmRequest): Promise<Decimal> {
  const result = await holdBound(deps, scope, request, new Decimal(0));
  if ("refusal" in result) throw refusalOf(result.refusal!, result.needed!);
  return result.held;
}

export class CallFunding {
  /** Held for the next call and not yet handed to a row (the accept's hold, for the turn's first call). */
  private heldForNext: Decimal;
  private inFlight: CallLimits | null = null;

  constructor(
    private readonly deps: FundingDeps,
    private readonly scope: HoldScope | null,
    heldAtAccept: Decimal = new Decimal(0),
  ) {
    this.heldForNext = heldAtAccept;
  }

  /** Holds the call's bound; returns the request to send. Throws CallUnfunded when not even its floor can be held. */
  async fund(request: LlmRequest): Promise<LlmRequest> {
    if (!this.scope) {
      this.inFlight = { bound: callBound(request), held: null };
      return request;
    }
    const result = await holdBound(this.deps, this.scope, request, this.heldForNext);
    if ("refusal" in result) throw new CallUnfunded(result.needed!, result.refusal!);
    const { bound, held } = result;
    this.heldForNext = new Decimal(0);
    const maxOutputTokens = held.gte(bound.credits) ? request.maxOutputTokens : largestOutputWithin(request.modelAlias, bound.inputTokens, held, request.maxOutputTokens);
    this.inFlight = { bound: { inputTokens: bound.inputTokens, outputTokens: maxOutputTokens }, held };
    return maxOutputTokens === request.maxOutputTokens ? request : { ...request, maxOutputTokens };
  }

  /** The bound and hold of the call just made, for its ledger row (null when none was funded here). */
  settle(): CallLimits | null {
    const limits = this.inFlight;
    this.inFlight = null;
    return limits;
  }
}
