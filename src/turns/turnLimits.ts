// The limits an orchestrator turn runs within (SPEC 16): set per room by its
// owner, read with the room when a message is accepted, so a change applies
// to the next turn, never to one running.
import { z } from "zod";

export interface TurnLimits {
  /** Rounds of specialists; after the last the manager is not asked again (MAX_ROUNDS). */
  maxRounds: number;
  /** Specialist steps in the whole turn (MAX_INVOCATIONS). */
  maxInvocations: number;
  /** Steps of any one specialist in the whole turn (MAX_INVOCATIONS). */
  maxPerAgent: number;
  /** Wall-clock seconds from accept; past them the call in flight is aborted (TIMEOUT). */
  timeLimitSeconds: number;
}

export const DEFAULT_TURN_LIMITS: TurnLimits = { maxRounds: 3, maxInvocations: 12, maxPerAgent: 3, timeLimitSeconds: 600 };

/** The ranges an owner may set (the rooms table's check constraints say the same). */
export const TURN_LIMIT_RANGES = {
  maxRounds: { min: 1, max: 10 },
  maxInvocations: { min: 1, max: 50 },
  maxPerAgent: { min: 1, max: 10 },
  timeLimitSeconds: { min: 10, max: 3600 },
} as const satisfies Record<keyof TurnLimits, { min: number; max: number }>;

const limit = (key: keyof TurnLimits) => {
  const { min, max } = TURN_LIMIT_RANGES[key];
  return z.number().int("must be a whole number").min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);
};

/** A change of some limits; the ones left out keep their value. */
export const turnLimitsChangeSchema = z
  .object({
    maxRounds: limit("maxRounds").optional(),
    maxInvocations: limit("maxInvocations").optional(),
    maxPerAgent: limit("maxPerAgent").optional(),
    timeLimitSeconds: limit("timeLimitSeconds").optional(),
  })
  .strict();

export type TurnLimitsChange = z.infer<typeof turnLimitsChangeSchema>;
