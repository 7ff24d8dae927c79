// Before a provider call starts, its bound is held (SPEC 14). One object per
// turn (or per metered preview) carries what its calls hold, one call at a
// time: `fund` holds the next call's bound (lowering its max_tokens to what
// the balance allows, down to its kind's floor) and returns the request to
// send; `settle` hands the call's bound and hold to its ledger row, whose
// debit settles the cost and releases the rest. A hold can also ride on the
// statement that starts the work it pays for (`holdAhead`: the turn's insert
// at accept, a step's start), so holding costs no round trip of its own. With
// no scope (CREDIT_ENFORCEMENT off) nothing is held and only bounds are kept.
import type { HotStatements } from "../db/statements.ts";
import { queryOne, type Queryable, type Sql } from "../db/sql.ts";
import type { LlmRequest } from "../llm/types.ts";
import { callBound, floorBound, largestOutputWithin, type CallBound } from "../metering/callBound.ts";
import type { OutputLimits } from "../metering/callKinds.ts";
import { creditsText, maxUnits, type CreditUnits } from "../metering/creditUnits.ts";
import type { CallLimits } from "../metering/ledger.ts";
import { holdCallSql, holdForCall, holdOutcome, refusalOf, type HoldOutcome, type HoldRow, type HoldScope } from "./callHolds.ts";

/** A call could not be held: the turn stops before it (stop reason BUDGET), or the send is refused. */
export class CallUnfunded extends Error {
  constructor(
    /** The least the call needed: its bound at its kind's output floor. */
    readonly required: CreditUnits,
    readonly refusal: Extract<HoldOutcome, { placed: false }>,
  ) {
    super(`not enough credits for the next call: it needs ${creditsText(required)}, ${refusal.refusedBy === "room" ? `the room has ${refusal.roomAvailable}` : `${refusal.available} are available`}`);
    this.name = "CallUnfunded";
  }

  /** The typed error a client gets when this was the send's first call. */
  toRefusal() {
    return refusalOf(this.refusal, this.required);
  }
}

export interface FundingDeps {
  db: Queryable;
  prepared: HotStatements | undefined;
  limits: OutputLimits;
}

/** What a request still needs held beyond `held`: null when `held` covers its whole bound. */
interface HoldPlan {
  amount: CreditUnits;
  /** Under enforce, the least worth holding: its bound at its kind's floor, beyond `held`. */
  least: CreditUnits;
  /** Its bound at its kind's floor. */
  needed: CreditUnits;
}

function holdPlan(request: LlmRequest, held: CreditUnits, limits: OutputLimits): { bound: CallBound; plan: HoldPlan | null } {
  const bound = callBound(request);
  if (held >= bound.credits) return { bound, plan: null };
  const needed = floorBound(request, bound.inputTokens, limits);
  return { bound, plan: { amount: bound.credits - held, least: maxUnits(0n, needed - held), needed } };
}

/**
 * A hold placed inside another statement: its SQL, and what to do with the
 * row it returns (none: the statement did not get to it). `beforeSettling`:
 * the statement also commits the previous call's ledger row, whose debit
 * (a trigger, at the statement's end) releases that call's unused hold only
 * after this hold has looked at the balance; a refusal is then not final,
 * and the call is held on its own before it starts (fund), as a partial hold
 * is topped up there.
 */
export interface AheadHold {
  statement: Sql;
  record(row: HoldRow | undefined, beforeSettling?: boolean): void;
}

export class CallFunding {
  /** Held for the next call and not yet handed to a row. */
  private heldForNext: CreditUnits;
  /** A hold placed ahead was refused: the next call stops before it starts. */
  private refusedAhead: CallUnfunded | null = null;
  private inFlight: CallLimits | null = null;

  constructor(
    private readonly deps: FundingDeps,
    private readonly scope: HoldScope | null,
    heldAtAccept: CreditUnits = 0n,
  ) {
    this.heldForNext = heldAtAccept;
  }

  /** What is held for the next call (accept hands it to the turn's runner). */
  held(): CreditUnits {
    return this.heldForNext;
  }

  /** The hold of `request`'s bound, to run inside the statement that starts its work; null when nothing needs holding. */
  holdAhead(request: LlmRequest): AheadHold | null {
    if (!this.scope || this.refusedAhead) return null;
    const { plan } = holdPlan(request, this.heldForNext, this.deps.limits);
    if (!plan) return null;
    return {
      statement: holdCallSql(this.scope, plan.amount, plan.least),
      record: (row, beforeSettling = false) => {
        if (!row) return;
        const outcome = holdOutcome(row);
        if (outcome.placed) this.heldForNext += outcome.held;
        else if (!beforeSettling) this.refusedAhead = new CallUnfunded(plan.needed, outcome);
      },
    };
  }

  /** Holds `request`'s bound ahead of its call, in a statement of its own (a metered preview's reservation). */
  async holdNow(request: LlmRequest): Promise<void> {
    const ahead = this.holdAhead(request);
    if (ahead) ahead.record(await queryOne<HoldRow>(this.deps.db, ahead.statement, this.deps.prepared));
  }

  /** The refusal of a hold placed ahead, if it was refused. */
  refusal(): CallUnfunded | null {
    return this.refusedAhead;
  }

  /** Holds the call's bound (unless held ahead); returns the request to send. Throws CallUnfunded when not even its floor can be held. */
  async fund(request: LlmRequest): Promise<LlmRequest> {
    if (!this.scope) {
      this.inFlight = { bound: callBound(request), held: null };
      return request;
    }
    if (this.refusedAhead) throw this.refusedAhead;
    const { bound, plan } = holdPlan(request, this.heldForNext, this.deps.limits);
    let held = this.heldForNext;
    if (plan) {
      const outcome = await holdForCall(this.deps.db, this.deps.prepared, this.scope, plan.amount, plan.least);
      if (!outcome.placed) throw new CallUnfunded(plan.needed, outcome);
      held += outcome.held;
    }
    this.heldForNext = 0n;
    const maxOutputTokens = held >= bound.credits ? request.maxOutputTokens : largestOutputWithin(request.modelAlias, bound.inputTokens, held, request.maxOutputTokens);
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
