// Rebuilds a turn's timeline from the database, for a subscriber whose turn
// is not (or no longer) in this process's event log: a finished turn, or one
// started before a restart. Token deltas are not stored, so the rebuilt
// timeline carries whole outputs in StepCompleted instead. Usage comes from
// the ledger rows, per step and in all.
import type { Db } from "../db.ts";
import { stepUsageTotals } from "../metering/usageTotals.ts";
import { emptyUsage, sumUsage } from "../metering/usageSums.ts";
import type { TurnEvent, TurnEventPayload } from "./events.ts";
import { parseRosterSnapshot } from "./roster.ts";

export interface DatabaseTimeline {
  events: TurnEvent[];
  /** Still running, but its lease has lapsed by this process's clock (the database's decides when it is ended). */
  leaseLapsed: boolean;
}

export async function timelineFromDatabase(prisma: Db, turnId: string): Promise<DatabaseTimeline> {
  const turn = await prisma.turn.findUnique({ where: { id: turnId }, include: { steps: { orderBy: { seq: "asc" } } } });
  if (!turn) return { events: [], leaseLapsed: false };
  const usageByStep = await stepUsageTotals(prisma, turnId);
  const usage = sumUsage([...usageByStep.values()]);
  const events: { payload: TurnEventPayload; at: Date }[] = [
    { payload: { type: "TurnStarted", mode: turn.mode, roster: parseRosterSnapshot(turn.rosterSnapshot) }, at: turn.startedAt },
  ];
  for (const step of turn.steps) {
    const base = { stepId: step.id };
    events.push({
      payload: { type: "StepStarted", ...base, stepSeq: step.seq, kind: step.kind, agentKey: step.agentKey, modelAlias: step.modelAlias },
      at: step.startedAt,
    });
    if (step.status !== "running") {
      const stepUsage = usageByStep.get(step.id) ?? emptyUsage();
      events.push({ payload: { type: "StepCompleted", ...base, status: step.status, output: step.output, error: step.error, usage: stepUsage }, at: step.completedAt ?? step.updatedAt });
    }
  }
  if (turn.status === "failed") events.push({ payload: { type: "TurnFailed", error: turn.error ?? "The turn failed.", usage }, at: turn.completedAt ?? turn.updatedAt });
  else if (turn.status !== "running") events.push({ payload: { type: "TurnCompleted", status: turn.status, usage }, at: turn.completedAt ?? turn.updatedAt });
  return {
    events: events.map(({ payload, at }, index) => ({ ...payload, turnId, sequence: index + 1, at }) as TurnEvent),
    leaseLapsed: turn.status === "running" && turn.leaseExpiresAt.getTime() < Date.now(),
  };
}
