// Plain JSON POSTs to /graphql are answered on Node's request and response
// (src/http/directJson.ts), everything else by Yoga. A client cannot tell:
// two servers on one database, one with the direct path (the default) and
// one with GRAPHQL_HTTP_PATH=yoga, must answer each request below with the
// same status, headers and body. The requests cover what the direct path
// answers itself (media types, CORS, credentials, each kind of error) and
// what it must hand to Yoga (batches, bodies that are not plain parameters,
// other media types, refused lengths). A subscription asking for an event
// stream is streamed by the direct path too; a query asking for one is
// Yoga's. /metrics says which path answered.
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { graphqlClient } from "./support/graphqlClient.ts";
import { createTestUser, signTestToken, type TestUser } from "./fixtures/users.ts";
import { createCouncil, sendAccepted, waitForTurn, type Council } from "./fixtures/turns.ts";

let database: TestDatabase;
let direct: TestServer;
let yoga: TestServer;
let user: TestUser;
let council: Council;
let finishedTurnId: string;

beforeAll(async () => {
  database = await createMigratedDatabase("direct_json");
  direct = await startTestServer(database.url);
  yoga = await startTestServer(database.url, { GRAPHQL_HTTP_PATH: "yoga" });
  user = await createTestUser();
  const client = graphqlClient(direct.graphqlUrl, user.token);
  council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"], ["bob", "DEEPSEEK"]]);
  finishedTurnId = await sendAccepted(client, council.sessionId, "Go");
  await waitForTurn(client, finishedTurnId);
});
afterAll(async () => {
  await direct?.close();
  await yoga?.close();
  await database?.drop();
});

interface Exchange {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Headers that differ between any two responses (when, which connection, which request). */
const PER_RESPONSE = new Set(["date", "connection", "keep-alive", "x-request-id"]);

interface Ask {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  /** Sent as is; an object is sent as JSON. */
  body?: string | object;
  /** Without a Content-Length (Transfer-Encoding: chunked). */
  chunked?: boolean;
}

function exchange(server: TestServer, ask: Ask): Promise<Exchange> {
  const body = ask.body === undefined ? undefined : typeof ask.body === "string" ? ask.body : JSON.stringify(ask.body);
  const headers: Record<string, string> = { "content-type": "application/json", ...ask.headers };
  if (body !== undefined && !ask.chunked) headers["content-length"] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    const url = new URL(ask.path ?? "/graphql", server.url);
    const outgoing = httpRequest(url, { method: ask.method ?? "POST", headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        const kept = Object.entries(response.headers).filter(([name]) => !PER_RESPONSE.has(name));
        resolve({
          status: response.statusCode!,
          headers: Object.fromEntries(kept.map(([name, value]) => [name, Array.isArray(value) ? value.join(", ") : String(value)])),
          // Masked errors carry their request's id, different on each server by construction.
          body: Buffer.concat(chunks).toString().replace(/"requestId":"[^"]+"/g, '"requestId":"…"'),
        });
      });
    });
    outgoing.on("error", reject);
    if (body !== undefined) outgoing.write(body);
    outgoing.end();
  });
}

const auth = () => ({ authorization: `Bearer ${user.token}` });
const TURN_EVENTS = {
  query: "subscription Follow($turnId: ID!, $after: Int) { turnEvents(turnId: $turnId, afterSequence: $after) { __typename ... on TurnProgressEvent { sequence } ... on TurnCompleted { turnStatus } } }",
};
const follow = (turnId: string) => ({ ...TURN_EVENTS, variables: { turnId, after: 0 } });
const ROOMS = { query: "query Rooms { rooms(first: 5) { edges { cursor node { id name agents { agentKey name modelAlias } } } pageInfo { hasNextPage endCursor } } }" };

/** Each request, the path that must answer it, and a piece of its answer (so that each case is the one it names). */
const CASES: { name: string; path: "direct" | "yoga"; ask: () => Ask; expected: string; status: number }[] = [
  { name: "a query, no Accept header", path: "direct", status: 200, expected: '"agentKey":"ada_1"', ask: () => ({ headers: auth(), body: ROOMS }) },
  { name: "Accept: */*", path: "direct", status: 200, expected: '"agentKey":"bob_1"', ask: () => ({ headers: { ...auth(), accept: "*/*" }, body: ROOMS }) },
  { name: "Accept: application/json", path: "direct", status: 200, expected: '"rooms"', ask: () => ({ headers: { ...auth(), accept: "application/json" }, body: ROOMS }) },
  {
    name: "Accept: application/graphql-response+json", path: "direct", status: 200, expected: '"rooms"',
    ask: () => ({ headers: { ...auth(), accept: "application/graphql-response+json" }, body: ROOMS }),
  },
  {
    name: "a client's Accept listing streams too", path: "direct", status: 200, expected: '"rooms"',
    ask: () => ({ headers: { ...auth(), accept: "application/graphql-response+json, application/json, text/event-stream, multipart/mixed" }, body: ROOMS }),
  },
  {
    name: "Content-Type with charset, operationName, null variables and extensions", path: "direct", status: 200, expected: '"viewer"',
    ask: () => ({ headers: { ...auth(), "content-type": "application/json; charset=utf-8" }, body: { query: "query Me { viewer { id } }", operationName: "Me", variables: null, extensions: {} } }),
  },
  {
    name: "a browser at an allowed origin (CORS headers)", path: "direct", status: 200, expected: '"rooms"',
    ask: () => ({ headers: { ...auth(), origin: "http://localhost:3000", accept: "application/graphql-response+json" }, body: ROOMS }),
  },
  { name: "a browser at another origin (no CORS headers)", path: "direct", status: 200, expected: '"rooms"', ask: () => ({ headers: { ...auth(), origin: "https://elsewhere.example" }, body: ROOMS }) },
  { name: "no credentials: a typed refusal", path: "direct", status: 200, expected: "UNAUTHENTICATED", ask: () => ({ body: ROOMS }) },
  { name: "a token that does not verify: 401", path: "direct", status: 401, expected: "UNAUTHENTICATED", ask: () => ({ headers: { authorization: "Bearer not-a-token" }, body: ROOMS }) },
  {
    name: "an expired token: 401 with its reason", path: "direct", status: 401, expected: "TOKEN_EXPIRED",
    ask: () => ({ headers: { authorization: `Bearer ${expiredToken}`, accept: "application/graphql-response+json" }, body: ROOMS }),
  },
  { name: "a syntax error, as application/json", path: "direct", status: 200, expected: "GRAPHQL_PARSE_FAILED", ask: () => ({ headers: auth(), body: { query: "{ rooms(" } }) },
  {
    name: "a syntax error, as application/graphql-response+json", path: "direct", status: 400, expected: "Syntax Error",
    ask: () => ({ headers: { ...auth(), accept: "application/graphql-response+json" }, body: { query: "{ rooms(" } }),
  },
  { name: "an unknown field, as application/json", path: "direct", status: 200, expected: "GRAPHQL_VALIDATION_FAILED", ask: () => ({ headers: auth(), body: { query: "{ nope }" } }) },
  {
    name: "an unknown field, as application/graphql-response+json", path: "direct", status: 400, expected: "GRAPHQL_VALIDATION_FAILED",
    ask: () => ({ headers: { ...auth(), accept: "application/graphql-response+json" }, body: { query: "{ nope }" } }),
  },
  {
    name: "armor's alias limit", path: "direct", status: 400, expected: "Aliases limit",
    ask: () => ({ headers: { ...auth(), accept: "application/graphql-response+json" }, body: { query: `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: systemStatus { ready }`).join(" ")} }` } }),
  },
  { name: "an operation name the document lacks", path: "direct", status: 400, expected: "OPERATION_RESOLUTION_FAILURE", ask: () => ({ headers: auth(), body: { query: "query A { viewer { id } }", operationName: "B" } }) },
  {
    name: "a refused variable", path: "direct", status: 400, expected: "VALIDATION_FAILED",
    ask: () => ({ headers: auth(), body: { query: "query R($n: Int) { rooms(first: $n) { edges { cursor } } }", variables: { n: "five" } } }),
  },
  {
    name: "a typed error union member from a mutation", path: "direct", status: 200, expected: '"__typename":"ValidationError"',
    ask: () => ({ headers: auth(), body: { query: 'mutation { createRoom(input: { name: "" }) { __typename ... on Error { code message } } }' } }),
  },
  {
    name: "a NOT_FOUND query error", path: "direct", status: 200, expected: "NOT_FOUND",
    ask: () => ({ headers: auth(), body: { query: "query R($id: ID!) { room(id: $id) { id } }", variables: { id: council.roomId.replace(/.$/, (c) => (c === "0" ? "1" : "0")) } } }),
  },
  {
    name: "a finished turn's events as a stream (SSE)", path: "direct", status: 200, expected: '"__typename":"TurnCompleted"',
    ask: () => ({ headers: { ...auth(), accept: "text/event-stream" }, body: follow(finishedTurnId) }),
  },
  {
    name: "a stream from a browser at an allowed origin (CORS headers)", path: "direct", status: 200, expected: "event: complete",
    ask: () => ({ headers: { ...auth(), origin: "http://localhost:3000", accept: "text/event-stream" }, body: { ...follow(finishedTurnId), operationName: "Follow" } }),
  },
  {
    name: "a stream of a turn that is not found", path: "direct", status: 200, expected: "NOT_FOUND",
    ask: () => ({ headers: { ...auth(), accept: "text/event-stream" }, body: follow(council.roomId) }),
  },
  { name: "a stream without credentials", path: "direct", status: 200, expected: "UNAUTHENTICATED", ask: () => ({ headers: { accept: "text/event-stream" }, body: follow(finishedTurnId) }) },
  {
    name: "a stream with an unknown field", path: "direct", status: 200, expected: "GRAPHQL_VALIDATION_FAILED",
    ask: () => ({ headers: { ...auth(), accept: "text/event-stream" }, body: { query: "subscription { turnEvents(turnId: \"x\") { nope } }" } }),
  },
  {
    name: "a stream with a refused variable", path: "direct", status: 400, expected: "VALIDATION_FAILED",
    ask: () => ({ headers: { ...auth(), accept: "text/event-stream" }, body: { ...TURN_EVENTS, variables: { turnId: finishedTurnId, after: 1.5 } } }),
  },
  {
    name: "a subscription whose Accept lists streams among others", path: "yoga", status: 200, expected: "event: complete",
    ask: () => ({ headers: { ...auth(), accept: "text/event-stream, application/json" }, body: follow(finishedTurnId) }),
  },
  { name: "a batch", path: "yoga", status: 200, expected: '[{"data"', ask: () => ({ headers: auth(), body: [{ query: "{ viewer { id } }" }, ROOMS] }) },
  { name: "a body that is not JSON", path: "yoga", status: 400, expected: "invalid JSON", ask: () => ({ headers: auth(), body: "{ query" }) },
  { name: "an empty body", path: "yoga", status: 400, expected: "errors", ask: () => ({ headers: auth(), body: "" }) },
  { name: "a parameter GraphQL does not have", path: "yoga", status: 400, expected: "Unexpected parameter", ask: () => ({ headers: auth(), body: { ...ROOMS, extra: 1 } }) },
  { name: "variables that are not an object", path: "yoga", status: 400, expected: "variables", ask: () => ({ headers: auth(), body: { ...ROOMS, variables: "{}" } }) },
  { name: "a query that is not a string", path: "yoga", status: 400, expected: "query", ask: () => ({ headers: auth(), body: { query: 1 } }) },
  {
    name: "a subscription over POST asking for JSON", path: "yoga", status: 200, expected: "NOT_FOUND",
    ask: () => ({ headers: { ...auth(), accept: "application/json" }, body: { query: "subscription E($id: ID!) { turnEvents(turnId: $id) { __typename } }", variables: { id: council.roomId } } }),
  },
  { name: "a query asking for a stream (SSE)", path: "yoga", status: 200, expected: "event: next", ask: () => ({ headers: { ...auth(), accept: "text/event-stream" }, body: ROOMS }) },
  { name: "a media type nobody serves", path: "yoga", status: 406, expected: "", ask: () => ({ headers: { ...auth(), accept: "text/html" }, body: ROOMS }) },
  { name: "a charset other than utf-8", path: "yoga", status: 406, expected: "", ask: () => ({ headers: { ...auth(), accept: "application/json; charset=iso-8859-1" }, body: ROOMS }) },
  { name: "a body without Content-Length", path: "yoga", status: 411, expected: "LENGTH_REQUIRED", ask: () => ({ headers: auth(), body: ROOMS, chunked: true }) },
  { name: "a body over the limit", path: "yoga", status: 413, expected: "PAYLOAD_TOO_LARGE", ask: () => ({ headers: auth(), body: { ...ROOMS, variables: { padding: "x".repeat(120_000) } } }) },
  { name: "a form post (CSRF refusal)", path: "yoga", status: 403, expected: "CSRF_HEADER_REQUIRED", ask: () => ({ headers: { ...auth(), "content-type": "text/plain" }, body: JSON.stringify(ROOMS) }) },
  { name: "a GET", path: "yoga", status: 200, expected: '"viewer"', ask: () => ({ method: "GET", path: `/graphql?query=${encodeURIComponent("{ viewer { id } }")}`, headers: auth() }) },
];

let expiredToken: string;
beforeAll(async () => {
  expiredToken = await signTestToken({ sub: user.id, expiresInSeconds: -120 });
});

async function counted(server: TestServer): Promise<Record<string, number>> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const counts: Record<string, number> = { direct: 0, yoga: 0 };
  for (const match of text.matchAll(/^pantheon_graphql_http_requests_total\{path="(\w+)"\} (\d+)$/gm)) counts[match[1]!] = Number(match[2]);
  return counts;
}

test.each(CASES)("both paths answer alike: $name", async ({ ask, path, status, expected }) => {
  const [directBefore, yogaBefore] = [await counted(direct), await counted(yoga)];
  const fromDirect = await exchange(direct, ask());
  const fromYoga = await exchange(yoga, ask());
  expect(fromDirect).toEqual(fromYoga);
  expect(fromDirect.status, fromDirect.body).toBe(status);
  expect(fromDirect.body).toContain(expected);
  const [directAfter, yogaAfter] = [await counted(direct), await counted(yoga)];
  expect(directAfter[path]! - directBefore[path]!, "the path that answered").toBe(1);
  expect(yogaAfter.yoga! - yogaBefore.yoga!, "GRAPHQL_HTTP_PATH=yoga answers everything").toBe(1);
});

test("a mutation answered directly writes once", async () => {
  const createRoom = (server: TestServer) =>
    exchange(server, { headers: auth(), body: { query: 'mutation { createRoom(input: { name: "Direct" }) { __typename ... on CreateRoomSuccess { room { name } } } }' } });
  const before = await counted(direct);
  const answer = await createRoom(direct);
  expect(answer.status).toBe(200);
  expect(answer.body).toContain('"name":"Direct"');
  expect((await counted(direct)).direct! - before.direct!).toBe(1);
  const rooms = await exchange(direct, { headers: auth(), body: { query: "{ rooms(first: 50) { edges { node { name } } } }" } });
  expect(rooms.body.match(/"Direct"/g)).toHaveLength(1);
});
