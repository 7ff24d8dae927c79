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
// viewer's agents through an index on their owner, before and after.
// Autovacuum is kept off those tables, so the planner has no statistics of
// them.
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { graphqlClient, type GraphQLClient } from "./support/graphqlClient.ts";
import { createTestUser } from "./fixtures/users.ts";
import { createCouncil, sendAccepted, waitForTurn, type Council } from "./fixtures/turns.ts";
import { recordStatements, type StatementRecorder } from "./support/statementRecorder.ts";
import { AgentsDocument, RoomsWithAgentsDocument, SessionMessagesDocument } from "./generated/graphql.ts";

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
  for (const table of ["agents", "room_agents", "rooms", "users"]) await admin.query(`ALTER TABLE ${table} SET (autovacuum_enabled = false)`);
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

/** How each node of the plan reads the agents table: its node type and index. */
function agentReads(node: PlanNode): string[] {
  const own = node["Relation Name"] === "agents" ? [`${node["Node Type"]} ${node["Index Name"] ?? ""}`.trim()] : [];
  return [...own, ...(node.Plans ?? []).flatMap(agentReads)];
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
