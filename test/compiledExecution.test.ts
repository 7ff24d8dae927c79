// Compiled execution (graphql-jit) answers exactly as the standard executor
// does: two servers on one database, one compiled (the default) and one with
// GRAPHQL_EXECUTION=standard, must send byte-identical bodies and the same
// status for documents that exercise what compilation could get wrong:
// connections with nested lists, fragments, aliases, @include/@skip, typed
// error unions, custom scalars, refused variables (wording and code), null
// for a missing object, an operation name the document lacks; subscriptions
// over SSE too (graphql-js opens their stream, each event runs compiled: see
// compiledExecution.ts).
// /metrics counts executions by executor and the documents held compiled.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { graphqlClient } from "./support/graphqlClient.ts";
import { createTestUser, type TestUser } from "./fixtures/users.ts";
import { createCouncil, sendAccepted, waitForTurn, type Council } from "./fixtures/turns.ts";
import { MAX_COMPILED_DOCUMENTS } from "../src/http/compiledExecution.ts";
import { print } from "graphql";
import { TurnEventsDocument } from "./generated/graphql.ts";

let database: TestDatabase;
let compiled: TestServer;
let standard: TestServer;
let user: TestUser;
let council: Council;
let turnId: string;

beforeAll(async () => {
  database = await createMigratedDatabase("compiled_execution");
  compiled = await startTestServer(database.url);
  standard = await startTestServer(database.url, { GRAPHQL_EXECUTION: "standard" });
  user = await createTestUser();
  const client = graphqlClient(compiled.graphqlUrl, user.token);
  council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"], ["bob", "DEEPSEEK"]]);
  turnId = await sendAccepted(client, council.sessionId, "Compare the executors.");
  await waitForTurn(client, turnId);
});
afterAll(async () => {
  await compiled?.close();
  await standard?.close();
  await database?.drop();
});

interface Exchange {
  status: number;
  body: string;
}

async function post(server: TestServer, payload: object, accept = "application/graphql-response+json"): Promise<Exchange> {
  const response = await fetch(server.graphqlUrl, {
    method: "POST",
    headers: { "content-type": "application/json", accept, authorization: `Bearer ${user.token}` },
    body: JSON.stringify(payload),
  });
  // Masked errors carry their request's id, different on each server by construction.
  return { status: response.status, body: (await response.text()).replace(/"requestId":"[^"]+"/g, '"requestId":"…"') };
}

/** Each document with a piece of its answer, so that each case is the one it names. */
const DOCUMENTS: { name: string; payload: () => object; expected: string }[] = [
  {
    name: "rooms with nested agents, cursors and page info", expected: '"agentKey":"bob_1"',
    payload: () => ({
      query: "{ viewer { id } rooms(first: 5) { edges { cursor node { id name currentMode goal agents { agentKey name modelAlias toolPermissions } } } pageInfo { hasNextPage hasPreviousPage endCursor } } }",
    }),
  },
  {
    name: "fragments, aliases, @include and @skip from variables", expected: '"b":{"edges"',
    payload: () => ({
      query: `query Shapes($with: Boolean!) {
        a: rooms(first: 1) { ...Page } b: rooms(first: 2) @include(if: $with) { ...Page } c: viewer @skip(if: $with) { id }
      } fragment Page on RoomConnection { edges { node { id ... on Room { agents { agentKey } } } } }`,
      variables: { with: true },
    }),
  },
  {
    name: "a turn with its steps, enums, dates and Decimal totals", expected: '"stopReason":"DONE"',
    payload: () => ({
      query: "query T($id: ID!) { turn(id: $id) { id status stopReason mode userContent steps { seq kind agentKey status round output startedAt completedAt } usageTotals { calls credits providerCostUsd totalTokens } } }",
      variables: { id: turnId },
    }),
  },
  {
    name: "a session's transcript, newest page first", expected: '"role":"USER"',
    payload: () => ({
      query: "query S($id: ID!) { session(id: $id) { messages(last: 10) { edges { cursor node { id role agentKey content createdAt } } pageInfo { hasPreviousPage startCursor } } } }",
      variables: { id: council.sessionId },
    }),
  },
  {
    name: "a variable named otherwise than its argument, and a literal argument",
    payload: () => ({ query: "query T($which: ID!) { turn(id: $which) { id steps { seq } } rooms(first: 1) { edges { node { id } } } }", variables: { which: turnId } }),
    expected: '"steps":[{"seq":1}',
  },
  { name: "null for a turn that does not exist", expected: '{"data":{"turn":null}}', payload: () => ({ query: "query T($id: ID!) { turn(id: $id) { id } }", variables: { id: randomUUID() } }) },
  {
    name: "a typed error union member (ValidationError with issues), nothing written", expected: '"__typename":"ValidationError"',
    payload: () => ({
      query: 'mutation { createRoom(input: { name: "" }) { __typename ... on Error { code message } ... on ValidationError { issues { path message } } } }',
    }),
  },
  {
    name: "a refused Decimal variable: the same words and code", expected: '"code":"VALIDATION_FAILED"',
    payload: () => ({
      query: "mutation G($amount: Decimal!) { grantCredits(input: { userId: \"00000000-0000-0000-0000-000000000000\", amount: $amount, kind: GRANT, idempotencyKey: \"k\" }) { __typename } }",
      variables: { amount: "abc" },
    }),
  },
  {
    name: "a refused enum variable", expected: '"code":"VALIDATION_FAILED"',
    payload: () => ({ query: "mutation R($mode: RoomMode) { createRoom(input: { name: \"x\", mode: $mode }) { __typename } }", variables: { mode: "manual" } }),
  },
  { name: "an operation name the document does not have (refused before execution)", expected: '"code":"OPERATION_RESOLUTION_FAILURE"', payload: () => ({ query: "query A { viewer { id } }", operationName: "B" }) },
];

test.each(DOCUMENTS)("compiled and standard answer alike: $name", async ({ payload, expected }) => {
  const [fromCompiled, fromStandard] = [await post(compiled, payload()), await post(standard, payload())];
  expect(fromCompiled).toEqual(fromStandard);
  expect(fromCompiled.body, fromCompiled.body).toContain(expected);
  expect(fromCompiled.body).not.toContain("INTERNAL_SERVER_ERROR");
  expect(fromCompiled.body).not.toContain("GRAPHQL_VALIDATION_FAILED");
});

const SUBSCRIPTIONS: { name: string; payload: () => object; expected: string }[] = [
  {
    name: "an ended turn's events, replayed from the database",
    payload: () => ({ query: "subscription E($id: ID!) { turnEvents(turnId: $id, afterSequence: 0) { __typename ... on TurnProgressEvent { sequence } } }", variables: { id: turnId } }),
    expected: '"__typename":"TurnCompleted"',
  },
  {
    name: "a literal argument and a variable named otherwise than its argument (graphql-jit would lose both)",
    payload: () => ({ query: "subscription E($which: ID!) { turnEvents(turnId: $which, afterSequence: 300000) { __typename ... on TurnProgressEvent { sequence } } }", variables: { which: turnId } }),
    expected: '"sequence":400000',
  },
  {
    name: "the typed TurnEvents document: every event type's fields, usage, the balance after",
    payload: () => ({ query: print(TurnEventsDocument), variables: { turnId, afterSequence: 0 } }),
    expected: '"creditsAvailableAfter"',
  },
  {
    name: "a turn that does not exist: refused by the resolver",
    payload: () => ({ query: "subscription E($id: ID!) { turnEvents(turnId: $id) { __typename } }", variables: { id: randomUUID() } }),
    expected: '"code":"NOT_FOUND"',
  },
  {
    name: "a refused Int variable: the same words and code",
    payload: () => ({ query: "subscription E($id: ID!, $after: Int) { turnEvents(turnId: $id, afterSequence: $after) { __typename } }", variables: { id: turnId, after: "abc" } }),
    expected: '"code":"VALIDATION_FAILED"',
  },
];

test.each(SUBSCRIPTIONS)("subscriptions over SSE, compiled and standard alike: $name", async ({ payload, expected }) => {
  const [fromCompiled, fromStandard] = [await post(compiled, payload(), "text/event-stream"), await post(standard, payload(), "text/event-stream")];
  expect(fromCompiled).toEqual(fromStandard);
  expect(fromCompiled.body, fromCompiled.body).toContain(expected);
});

test("/metrics counts executions by executor; the standard server compiles nothing", async () => {
  const counted = async (server: TestServer) => {
    const text = await (await fetch(server.url + "/metrics")).text();
    const count = (executor: string, type: string) =>
      Number(text.match(new RegExp(`^pantheon_graphql_executions_total\\{executor="${executor}",type="${type}"\\} (\\d+)`, "m"))?.[1] ?? 0);
    return { compiledQueries: count("compiled", "query"), compiledMutations: count("compiled", "mutation"), compiledSubscriptions: count("compiled", "subscription") };
  };
  await post(compiled, { query: "{ viewer { id } }" });
  await post(compiled, { query: print(TurnEventsDocument), variables: { turnId, afterSequence: 0 } }, "text/event-stream");
  const ours = await counted(compiled);
  expect(ours.compiledQueries).toBeGreaterThan(0);
  expect(ours.compiledMutations).toBeGreaterThan(0);
  expect(ours.compiledSubscriptions).toBeGreaterThan(0);
  expect(await counted(standard)).toEqual({ compiledQueries: 0, compiledMutations: 0, compiledSubscriptions: 0 });
});

test("at most MAX_COMPILED_DOCUMENTS stay compiled: past it the least recently used go, and every document still answers", async () => {
  const gauge = async () => Number((await (await fetch(compiled.url + "/metrics")).text()).match(/^pantheon_graphql_compiled_documents (\d+)$/m)?.[1]);
  const distinct = (index: number) => ({ query: `query Distinct${index} { viewer { id } }` });
  for (let index = 0; index < MAX_COMPILED_DOCUMENTS + 10; index++) {
    expect((await post(compiled, distinct(index))).status).toBe(200);
  }
  expect(await gauge()).toBe(MAX_COMPILED_DOCUMENTS);
  // The first one was dropped long ago: compiled again, answered the same.
  expect(await post(compiled, distinct(0))).toEqual(await post(standard, distinct(0)));
  expect(await gauge()).toBe(MAX_COMPILED_DOCUMENTS);
}, 60_000);
