// What a send reads, and the rooms and transcript pages, do not read every
// live agent in the database: each agent they show is read by its id,
// through its room's roster rows (src/turns/sessionScopeSql.ts, ROOM_AGENTS,
// sessionSelect). Without fresh statistics, as on a database fresh from its
// migrations with a couple of thousand agents, PostgreSQL otherwise chose to
// scan every live agent for each room (2,005 rows, 1.6 ms, per send); with a
// few agents it scanned them all through the live agents' partial index, for
// each agent shown (3,600 index entries for the bench's page of 20 rooms of
// 3 agents). The statements are the ones the server sent, recorded; their
// plans are read with EXPLAIN with the test's five agents and again after
// 2,000 agents of other users arrived, and the buffers they touch are
// compared. The agents page (src/resolvers/agentSql.ts) must read the
// viewer's agents through an index on their owner, before and after; the
// sessions page (src/resolvers/sessionSql.ts) the viewer's sessions, and
// their rooms and agents by id, before and after 2,000 sessions of others.
// Autovacuum is kept off those tables, so the planner has no statistics of
// them.
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { graphqlClient, type GraphQLClient } from "./support/graphqlClient.ts";
import { createTestUser } from "./fixtures/users.ts";
import { createAgent, createCouncil, createSession, sendAccepted, waitForTurn, type Council } from "./fixtures/turns.ts";
import { recordStatements, type StatementRecorder } from "./support/statementRecorder.ts";
import { AgentsDocument, RoomsWithAgentsDocument, SessionEveryFieldDocument, SessionMessagesDocument, ViewerSessionsEveryFieldDocument } from "./generated/graphql.ts";

const OTHER_USERS = 20;
const AGENTS_EACH = 100;
/** Buffers a statement may touch beyond what it touched before the other agents arrived: an index one level deeper for each agent it reads by id. */
const SLACK_BUFFERS = 8;

let database: TestDatabase;
let server: TestServer;
let admin: pg.Client;
let recorder: StatementRecorder;
let client: GraphQLClient;
let council: Council;

beforeAll(async () => {
  database = await createMigratedDatabase("query_growth");
  admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  for (const table of ["agents", "room_agents", "rooms", "users", "sessions"]) await admin.query(`ALTER TABLE ${table} SET (autovacuum_enabled = false)`);
  server = await startTestServer(database.url);
  recorder = recordStatements(admin);
  const user = await createTestUser();
  client = graphqlClient(server.graphqlUrl, user.token);
  council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"], ["bob", "DEEPSEEK"], ["cyd", "LLAMA"]]);
  await createCouncil(client, "ROUNDTABLE", [["dee", "QWEN"], ["eve", "QWEN"]]);
});
afterAll(async () => {
  recorder?.stop();
  await admin?.end();
  await server?.close();
  await database?.drop();
});

/** The statement the server sent last whose text contains `marker`, with its values. */
async function sentStatement(marker: string, send: () => Promise<unknown>): Promise<{ text: string; values: unknown[] }> {
  recorder.clear();
  await send();
  const found = recorder.sent.filter((statement) => statement.text.includes(marker)).at(-1);
  if (!found) throw new Error(`no statement containing ${marker} was sent`);
  return found;
}

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Shared Hit Blocks": number;
  "Shared Read Blocks": number;
  Plans?: PlanNode[];
}

/** The statement's plan as it ran (EXPLAIN ANALYZE). */
async function planOf(statement: { text: string; values: unknown[] }): Promise<PlanNode> {
  const { rows } = await admin.query<{ "QUERY PLAN": [{ Plan: PlanNode }] }>(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${statement.text}`, statement.values);
  return rows[0]!["QUERY PLAN"][0].Plan;
}

/** How each node of the plan reads a table (the agents table unless told): its node type and index (a bitmap scan's, its child's). */
function agentReads(node: PlanNode, table = "agents"): string[] {
  const index = node["Index Name"] ?? (node["Node Type"] === "Bitmap Heap Scan" ? node.Plans?.[0]?.["Index Name"] : undefined);
  const own = node["Relation Name"] === table ? [`${node["Node Type"]} ${index ?? ""}`.trim()] : [];
  return [...own, ...(node.Plans ?? []).flatMap((child) => agentReads(child, table))];
}

const buffersOf = (plan: PlanNode) => plan["Shared Hit Blocks"] + plan["Shared Read Blocks"];

async function addOtherUsersAgents(): Promise<void> {
  await admin.query(
    `WITH others AS (
       INSERT INTO users (id, email, updated_at) SELECT gen_random_uuid(), 'growth-' || g || '@example.com', now() FROM generate_series(1, $1::int) g RETURNING id)
     INSERT INTO agents (id, owner_id, agent_key, name, model_alias, updated_at)
     SELECT gen_random_uuid(), o.id, 'agent_' || g, 'Agent ' || g, 'qwen', now() FROM others o, generate_series(1, $2::int) g`,
    [OTHER_USERS, AGENTS_EACH],
  );
}

test("a send's read, the rooms page and the transcript page read each agent by its id, and the agents page the viewer's own, however many agents other users have", async () => {
  await waitForTurn(client, await sendAccepted(client, council.sessionId, "A first turn: the session has a history."));
  const sent = {
    accept: await sentStatement("latest_summary", async () => waitForTurn(client, await sendAccepted(client, council.sessionId, "How should we launch?"))),
    roomsPage: await sentStatement("preloadedAgents", () => client(RoomsWithAgentsDocument, { first: 20 })),
    transcript: await sentStatement("pageMessages", () => client(SessionMessagesDocument, { id: council.sessionId, last: 50 })),
  };
  const agentsPage = await sentStatement("FROM agents a", () => client(AgentsDocument, { first: 20 }));
  // All are reads: run again, they read what they read when sent (the turn they accepted stays out of the history read).
  const plans = async () => ({ accept: await planOf(sent.accept), roomsPage: await planOf(sent.roomsPage), transcript: await planOf(sent.transcript) });
  await plans();
  const before = await plans();
  const agentsBefore = await planOf(agentsPage);
  await addOtherUsersAgents();
  const after = await plans();
  const agentsAfter = await planOf(agentsPage);
  // The agents page reads the viewer's own agents through an index on the owner, whoever else has agents.
  for (const [when, plan] of [["before", agentsBefore], ["after", agentsAfter]] as const) {
    const reads = agentReads(plan);
    expect(reads.filter((read) => !/^Index (Only )?Scan /.test(read)), `agentsPage ${when}: ${reads.join(", ")}`).toEqual([]);
  }
  expect(buffersOf(agentsAfter), "agentsPage").toBeLessThanOrEqual(buffersOf(agentsBefore) + SLACK_BUFFERS);
  for (const name of ["accept", "roomsPage", "transcript"] as const) {
    for (const [when, plan] of [["before", before[name]], ["after", after[name]]] as const) {
      const reads = agentReads(plan);
      expect(reads.filter((read) => !/^Index (Only )?Scan agents_pkey$/.test(read)), `${name} ${when}: ${reads.join(", ")}`).toEqual([]);
    }
    expect(buffersOf(after[name]), name).toBeLessThanOrEqual(buffersOf(before[name]) + SLACK_BUFFERS);
  }
});

/** Other users with a room, an agent, and sessions of each (half in the room, half direct chats). */
async function addOtherUsersSessions(): Promise<void> {
  await admin.query(
    `WITH others AS (
       INSERT INTO users (id, email, updated_at) SELECT gen_random_uuid(), 'sessions-' || g || '@example.com', now() FROM generate_series(1, $1::int) g RETURNING id),
     their_rooms AS (
       INSERT INTO rooms (id, owner_id, name, goal, updated_at) SELECT gen_random_uuid(), o.id, 'Room', 'Goal', now() FROM others o RETURNING id, owner_id),
     their_agents AS (
       INSERT INTO agents (id, owner_id, agent_key, name, model_alias, updated_at) SELECT gen_random_uuid(), o.id, 'solo', 'Solo', 'qwen', now() FROM others o RETURNING id, owner_id)
     INSERT INTO sessions (id, owner_id, room_id, agent_id, updated_at, last_activity_at)
     SELECT gen_random_uuid(), r.owner_id, CASE WHEN g % 2 = 0 THEN r.id END, CASE WHEN g % 2 = 1 THEN a.id END, now(), now() - g * interval '1 second'
       FROM their_rooms r JOIN their_agents a USING (owner_id), generate_series(1, $2::int) g`,
    [OTHER_USERS, AGENTS_EACH],
  );
}

test("the sessions page reads the viewer's sessions through their owner's index, and each room and agent by its id, however many sessions other users have", async () => {
  const solo = await createAgent(client, "solo_growth");
  const direct = await createSession(client, { agentId: solo.id });
  const sent = {
    page: await sentStatement('"lastActivityAt"', () => client(ViewerSessionsEveryFieldDocument, { first: 20 })),
    // The page reads its sessions' rooms and agents itself; a session read alone gets them by id.
    rooms: await sentStatement("FROM rooms r WHERE r.id = wanted.id", () => client(SessionEveryFieldDocument, { id: council.sessionId })),
    agents: await sentStatement("FROM agents a WHERE a.id = wanted.id", () => client(SessionEveryFieldDocument, { id: direct })),
  };
  const plans = async () => ({ page: await planOf(sent.page), rooms: await planOf(sent.rooms), agents: await planOf(sent.agents) });
  await plans();
  const before = await plans();
  await addOtherUsersSessions();
  const after = await plans();
  for (const [when, plan] of [["before", before], ["after", after]] as const) {
    // The viewer's own sessions, whoever else has some (in activity order, or gathered by a bitmap when the planner expects few).
    const sessionReads = agentReads(plan.page, "sessions");
    expect(sessionReads.filter((read) => !/^(Index Scan|Bitmap Heap Scan) idx_sessions_owner_last_activity$/.test(read)), `page ${when}: ${sessionReads.join(", ")}`).toEqual([]);
    const turnReads = agentReads(plan.page, "turns");
    expect(turnReads.length, "the page counts turns").toBeGreaterThan(0);
    expect(turnReads.filter((read) => !/^Index (Only )?Scan uq_turns_session_seq$/.test(read)), `page ${when}: ${turnReads.join(", ")}`).toEqual([]);
    for (const [name, table] of [["page", "rooms"], ["page", "agents"], ["rooms", "rooms"], ["agents", "agents"]] as const) {
      const reads = agentReads(plan[name], table);
      expect(reads.length, `${name} reads ${table}`).toBeGreaterThan(0);
      expect(reads.filter((read) => read !== `Index Scan ${table}_pkey`), `${name} ${when}: ${reads.join(", ")}`).toEqual([]);
    }
  }
  for (const name of ["page", "rooms", "agents"] as const) expect(buffersOf(after[name]), name).toBeLessThanOrEqual(buffersOf(before[name]) + SLACK_BUFFERS);
});
