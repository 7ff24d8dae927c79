// Which ledger rows a user-facing report reads. Every scope is confined to
// the viewer's own rows (user_id), whatever ids the client passes.
import { join, sql, type Sql } from "../db/sql.ts";
import type { TimeRange } from "./range.ts";

export interface UsageFilter {
  roomId?: string | null;
  /** A room session (session_id) or a direct chat (direct_session_id). */
  sessionId?: string | null;
  modelAlias?: string | null;
}

export type UsageScope =
  | { kind: "viewer"; userId: string; range: TimeRange; filter: UsageFilter }
  | { kind: "room"; userId: string; roomId: string }
  | { kind: "session"; userId: string; sessionId: string }
  | { kind: "turn"; userId: string; turnId: string };

const sessionMatch = (sessionId: string) => sql`(e.session_id = ${sessionId}::uuid OR e.direct_session_id = ${sessionId})`;

function filterConditions(filter: UsageFilter): Sql[] {
  const conditions: Sql[] = [];
  if (filter.roomId) conditions.push(sql`e.room_id = ${filter.roomId}::uuid`);
  if (filter.sessionId) conditions.push(sessionMatch(filter.sessionId));
  if (filter.modelAlias) conditions.push(sql`e.model_alias = ${filter.modelAlias}`);
  return conditions;
}

/** The viewer's rows in an optional range, narrowed by the filter. */
export function viewerRowsWhere(userId: string, range: Partial<TimeRange>, filter: UsageFilter): Sql {
  const conditions = [sql`e.user_id = ${userId}::uuid`];
  if (range.from) conditions.push(sql`e.created_at >= ${range.from}::timestamptz`);
  if (range.to) conditions.push(sql`e.created_at < ${range.to}::timestamptz`);
  return join([...conditions, ...filterConditions(filter)], " AND ");
}

export function scopeWhere(scope: UsageScope): Sql {
  if (scope.kind === "viewer") return viewerRowsWhere(scope.userId, scope.range, scope.filter);
  const conditions = [sql`e.user_id = ${scope.userId}::uuid`];
  switch (scope.kind) {
    case "room":
      conditions.push(sql`e.room_id = ${scope.roomId}::uuid`);
      break;
    case "session":
      conditions.push(sessionMatch(scope.sessionId));
      break;
    case "turn":
      conditions.push(sql`e.turn_id = ${scope.turnId}::uuid`);
      break;
  }
  return join(conditions, " AND ");
}

export function scopeRange(scope: UsageScope): TimeRange | null {
  return scope.kind === "viewer" ? scope.range : null;
}
