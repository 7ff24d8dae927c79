// Shared by the fault tests and the chaos benchmark: users chatting with
// their councils while faults happen, and the audit of the ledger against
// what the (fake) provider answered.
import type pg from "pg";
import { TurnDocument } from "../generated/graphql.ts";
import { createCouncil, send } from "../fixtures/turns.ts";
import { createTestUser } from "../fixtures/users.ts";
import { graphqlClient, type GraphQLClient } from "./graphqlClient.ts";

export interface ChattingUser {
  client: GraphQLClient;
  sessionId: string;
  token: string;
}

export interface ChatTally {
  sent: number;
  accepted: number;
  /** Requests that failed (HTTP error, connection refused, masked error): expected while the database is away. */
  failed: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `count` users, each with a roundtable room of `agents` agents and a session in it. */
export async function createChattingUsers(graphqlUrl: string, count: number, agents = 2): Promise<ChattingUser[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const { token } = await createTestUser();
      const client = graphqlClient(graphqlUrl, token);
      const roster = Array.from({ length: agents }, (_, index): [string, "QWEN"] => [`agent${index}`, "QWEN"]);
      const council = await createCouncil(client, "ROUNDTABLE", roster);
      return { client, sessionId: council.sessionId, token };
    }),
  );
}

async function waitWhileRunning(user: ChattingUser, turnId: string, until: number): Promise<void> {
  while (Date.now() < until) {
    try {
      const turn = (await user.client(TurnDocument, { id: turnId })).data?.turn;
      if (turn && turn.status !== "RUNNING") return;
    } catch {
      // The server is unreachable for a moment: keep asking.
    }
    await sleep(100);
  }
}

/** Each user sends, waits for the turn to end, and sends again, until `until`; nothing here throws. */
export async function chatUntil(users: ChattingUser[], until: number): Promise<ChatTally> {
  const tally: ChatTally = { sent: 0, accepted: 0, failed: 0 };
  await Promise.all(
    users.map(async (user) => {
      while (Date.now() < until) {
        tally.sent++;
        try {
          const result = await send(user.client, user.sessionId, "How should we launch?");
          if (result.__typename === "SendMessageSuccess") {
            tally.accepted++;
            await waitWhileRunning(user, result.turn.id, until);
            continue;
          }
        } catch {
          tally.failed++;
        }
        await sleep(100);
      }
    }),
  );
  return tally;
}

export interface LedgerAudit {
  /** Successful provider answers fully written by the fake provider. */
  answered: number;
  /** Ledger rows in the database. */
  rows: number;
  /** Answered calls without a ledger row. */
  unmetered: number;
  /** Request ids recorded more than once. */
  duplicates: number;
  /** Turns still RUNNING although their lease has lapsed. */
  stuckTurns: number;
  /** Calls charged more than was held for them, and wallets below zero (credit enforcement). */
  overspend: number;
  /** Credits still held by wallets (0 once every turn has ended). */
  held: string;
  /** Ended turns without a stop reason (SPEC 16: never). */
  endedWithoutReason: number;
  /** How many ended turns stopped for each reason. */
  stopReasons: Record<string, number>;
}

export async function auditLedger(db: pg.Pool | pg.Client, answeredIds: string[]): Promise<LedgerAudit> {
  const { rows } = await db.query<{ rows: number; unmetered: number; duplicates: number; stuck: number; overspend: number; held: string; no_reason: number; reasons: Record<string, number> | null }>(
    `SELECT (SELECT count(*)::int FROM llm_call_events) AS rows,
            (SELECT count(*)::int FROM llm_call_events WHERE credits_burned > hold_credits)
              + (SELECT count(*)::int FROM credit_wallets w WHERE credit_available(w) < 0) AS overspend,
            (SELECT coalesce(sum(held), 0)::text FROM credit_wallets) AS held,
            (SELECT count(*)::int FROM unnest($1::text[]) AS answered(id)
              WHERE NOT EXISTS (SELECT 1 FROM llm_call_events e WHERE e.request_id = answered.id)) AS unmetered,
            (SELECT count(*)::int FROM (SELECT request_id FROM llm_call_events WHERE request_id IS NOT NULL GROUP BY request_id HAVING count(*) > 1) d) AS duplicates,
            (SELECT count(*)::int FROM turns WHERE status = 'running' AND lease_expires_at < now()) AS stuck,
            (SELECT count(*)::int FROM turns WHERE status <> 'running' AND stop_reason IS NULL) AS no_reason,
            (SELECT jsonb_object_agg(reason, n) FROM (SELECT stop_reason::text AS reason, count(*)::int AS n FROM turns WHERE status <> 'running' GROUP BY 1) r) AS reasons`,
    [answeredIds],
  );
  const row = rows[0]!;
  return {
    answered: answeredIds.length,
    rows: row.rows,
    unmetered: row.unmetered,
    duplicates: row.duplicates,
    stuckTurns: row.stuck,
    overspend: row.overspend,
    held: row.held,
    endedWithoutReason: row.no_reason,
    stopReasons: row.reasons ?? {},
  };
}

/** Waits until no turn is running (every lease ran out and was swept, or turns ended), up to `timeoutMs`. */
export async function waitForNoRunningTurns(db: pg.Pool | pg.Client, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await db.query<{ running: number }>("SELECT count(*)::int AS running FROM turns WHERE status = 'running'");
    if (rows[0]!.running === 0 || Date.now() > deadline) return rows[0]!.running;
    await sleep(200);
  }
}

/** Every user's next message is accepted (no session left blocked); returns how many were. */
export async function nextSendsAccepted(users: ChattingUser[]): Promise<number> {
  const results = await Promise.all(users.map((user) => send(user.client, user.sessionId, "Are you still there?")));
  return results.filter((result) => result.__typename === "SendMessageSuccess").length;
}
