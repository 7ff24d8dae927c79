// Turn leases (SPEC 11): the owner renews its lease while a turn runs, so a
// call longer than the lease is fine; a turn whose owner is gone is ended by
// the first instance that notices (a read, a subscription, a send or the
// sweep), its subscribers' streams complete, and an owner that lost its turn
// stops calling the provider for it.
import { expect, test } from "vitest";
import { TurnEventsDocument, type TurnEventsSubscription } from "./generated/graphql.ts";
import { useCouncilServer } from "./support/councilServer.ts";
import { graphqlClient } from "./support/graphqlClient.ts";
import { subscribe } from "./support/sse.ts";
import { agentKeyOf } from "./support/councilProvider.ts";
import { createCouncil, sendAccepted, waitForTurn } from "./fixtures/turns.ts";
import { createTestUser } from "./fixtures/users.ts";
import pg from "pg";
import { INTERRUPTED_LEASE_ERROR, INTERRUPTED_STEP_ERROR, endLapsedTurns, renewLeases } from "../src/turns/leaseSql.ts";
import { queryConfig } from "../src/db/sql.ts";

const LEASE_MS = 1_500;
const harness = useCouncilServer("leases", { TURN_LEASE_MS: String(LEASE_MS) });

const pickEvent = (data: TurnEventsSubscription) => data.turnEvents;

async function userWithCouncil(agents: number) {
  const user = await createTestUser();
  const client = graphqlClient(harness.server.graphqlUrl, user.token);
  const roster = Array.from({ length: agents }, (_, index): [string, "QWEN"] => [`agent${index}`, "QWEN"]);
  return { user, client, council: await createCouncil(client, "ROUNDTABLE", roster) };
}

test("a provider call longer than the lease: the owner keeps renewing it and the turn completes", async () => {
  const { client, council } = await userWithCouncil(1);
  harness.script.agentDelayMs = LEASE_MS * 2;
  const turn = await waitForTurn(client, await sendAccepted(client, council.sessionId, "Take your time"));
  expect(turn.status).toBe("COMPLETED");
});

test("a turn whose owner vanished: a read ends it once its lease lapses, and a subscriber's stream completes", async () => {
  const { user, client, council } = await userWithCouncil(1);
  const { prisma } = harness.server.runtime;
  const session = await prisma.session.findUniqueOrThrow({ where: { id: council.sessionId } });
  const orphan = await prisma.turn.create({
    data: { sessionId: council.sessionId, userId: session.ownerId, seq: 1, mode: "roundtable", rosterSnapshot: [], userContent: "lost", status: "running", ownerInstance: "a-killed-instance" },
  });
  await prisma.$executeRaw`UPDATE turns SET lease_expires_at = now() + interval '1 second' WHERE id = ${orphan.id}::uuid`;
  const stream = subscribe(harness.server.graphqlUrl, user.token, TurnEventsDocument, { turnId: orphan.id, afterSequence: 0 }, pickEvent);
  const events = await stream.done;
  // Made by hand, the turn has no kept events but the ending the lapse gave it.
  expect(events.map((event) => event.__typename)).toEqual(["TurnFailed"]);
  const ended = await waitForTurn(client, orphan.id, 1_000);
  expect([ended.status, ended.error]).toEqual(["FAILED", INTERRUPTED_LEASE_ERROR]);
});

test("an owner whose turn was ended elsewhere meters the call it had in flight, then stops: no further agent is called", async () => {
  const { user, client, council } = await userWithCouncil(3);
  let release!: () => void;
  harness.script.hold = new Promise((resolve) => (release = resolve));
  const callsBefore = harness.fake.calls.length;
  const turnId = await sendAccepted(client, council.sessionId, "Go");
  const stream = subscribe(harness.server.graphqlUrl, user.token, TurnEventsDocument, { turnId, afterSequence: 0 }, pickEvent);
  while (harness.fake.calls.length === callsBefore) await new Promise((resolve) => setTimeout(resolve, 20));

  // Another instance takes over the lapsed lease and ends the turn (as after a long database outage of the owner).
  const { prisma } = harness.server.runtime;
  await prisma.$executeRaw`UPDATE turns SET owner_instance = 'another-instance', lease_expires_at = now() - interval '1 second' WHERE id = ${turnId}::uuid`;
  const ended = await waitForTurn(client, turnId, 5_000);
  expect([ended.status, ended.error]).toEqual(["FAILED", INTERRUPTED_LEASE_ERROR]);
  release();
  harness.script.hold = null;

  const events = await stream.done;
  expect(events.filter((event) => event.__typename === "TurnFailed")).toHaveLength(1);
  expect(events.at(-1)!.__typename).toBe("TurnFailed");
  // The owner finishes its in-flight call after the stream already ended.
  await harness.server.runtime.turns.drain();
  const calls = harness.fake.calls.slice(callsBefore);
  expect(calls.map(agentKeyOf)).toEqual([council.agents[0]!.agentKey]);
  expect(await prisma.llmCallEvent.count({ where: { turnId } })).toBe(1);
  const steps = await prisma.turnStep.findMany({ where: { turnId } });
  expect(steps.map((step) => [step.status, step.error])).toEqual([["failed", INTERRUPTED_STEP_ERROR]]);
  expect(await prisma.message.count({ where: { turnId, role: "agent" } })).toBe(0);
});

test("renewing a running turn's lease is a HOT update (no turns index is written); the sweep still finds running turns by an index, and ends a lapsed one", async () => {
  const { client, council } = await userWithCouncil(1);
  const { prisma } = harness.server.runtime;
  const session = await prisma.session.findUniqueOrThrow({ where: { id: council.sessionId } });
  const turn = await prisma.turn.create({
    data: { sessionId: council.sessionId, userId: session.ownerId, seq: 1, mode: "roundtable", rosterSnapshot: [], userContent: "renewed", status: "running", ownerInstance: "an-owner" },
  });
  const db = new pg.Client({ connectionString: harness.database.url });
  await db.connect();
  try {
    await db.query("BEGIN");
    // Each renewal moves the lease (now() is the transaction's: a different length each time).
    for (let count = 1; count <= 3; count++) expect((await db.query(queryConfig(renewLeases([turn.id], "an-owner", LEASE_MS + count)))).rowCount).toBe(1);
    // This transaction's own counts: every update of the turn's row stayed off the indexes.
    const { rows } = await db.query<{ n_tup_upd: string; n_tup_hot_upd: string }>("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'turns'");
    expect(rows[0]).toEqual({ n_tup_upd: "3", n_tup_hot_upd: "3" });
    await db.query("COMMIT");
  } finally {
    await db.end();
  }
  // The sweep finds running turns through the index of running turns, not by reading every turn (3,000 ended ones here).
  await prisma.$executeRaw`INSERT INTO turns (id, session_id, user_id, seq, status, mode, roster_snapshot, user_content, stop_reason, updated_at)
    SELECT gen_random_uuid(), ${council.sessionId}::uuid, ${session.ownerId}::uuid, 1 + g, 'completed', 'roundtable', '[]', 'ended', 'done', now()
      FROM generate_series(1, 3000) g`;
  const sweep = queryConfig(endLapsedTurns());
  type PlanNode = { "Node Type": string; "Relation Name"?: string; "Index Name"?: string; Plans?: PlanNode[] };
  const explained = await prisma.$queryRawUnsafe<{ "QUERY PLAN": [{ Plan: PlanNode }] }[]>(`EXPLAIN (FORMAT JSON) ${sweep.text}`, ...(sweep.values ?? []));
  const nodes = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodes)];
  const plan = nodes(explained[0]!["QUERY PLAN"][0].Plan);
  expect(plan.filter((node) => node["Relation Name"] === "turns" && node["Node Type"] === "Seq Scan")).toEqual([]);
  expect(plan.map((node) => node["Index Name"])).toContain("uq_turns_session_running");
  // A lapsed one is ended (by the next read here, or by the sweep, whichever comes first).
  await prisma.$executeRaw`UPDATE turns SET lease_expires_at = now() - interval '1 second' WHERE id = ${turn.id}::uuid`;
  const ended = await waitForTurn(client, turn.id, 5_000);
  expect([ended.status, ended.error]).toEqual(["FAILED", INTERRUPTED_LEASE_ERROR]);
});
