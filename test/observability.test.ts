// What ops see: one JSON log line per request (request id honoured and
// echoed, operation, status, duration, viewer; never tokens or message
// content), turn lifecycle lines, a masked error that carries the request id
// its log line has, and Prometheus metrics behind a token.
import { afterAll, beforeAll, expect, test } from "vitest";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { startServerProcess, type ServerProcess } from "./support/serverProcess.ts";
import { startTcpProxy, type TcpProxy } from "./support/tcpProxy.ts";
import { graphqlClient } from "./support/graphqlClient.ts";
import { createCouncil, sendAccepted, waitForTurn } from "./fixtures/turns.ts";
import { createTestUser, type TestUser } from "./fixtures/users.ts";
import { RoomsDocument } from "./generated/graphql.ts";
import { startTestServer } from "./support/server.ts";
import { createApp } from "../src/yoga.ts";

const METRICS_TOKEN = "metrics-token-for-the-test-0123456789";
const SECRET_CONTENT = "my-very-private-message-7f3a";

let database: TestDatabase;
let proxy: TcpProxy;
let server: ServerProcess;
let user: TestUser;

interface LogLine {
  msg: string;
  level: number;
  [field: string]: unknown;
}

function logLines(): LogLine[] {
  return server
    .output()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as LogLine);
}

async function eventually<T>(find: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error("not found in time");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  database = await createMigratedDatabase("observability");
  const url = new URL(database.url);
  proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
  server = await startServerProcess(database.url, { DATABASE_POOL_URL: proxy.url(database.url), LOG_LEVEL: "info", METRICS_TOKEN });
  user = await createTestUser();
});

afterAll(async () => {
  await server?.stop();
  await proxy?.close();
  await database?.drop();
});

test("one log line per request: the client's request id echoed and logged with operation, status, duration and viewer; no token, no content", async () => {
  const client = graphqlClient(server.graphqlUrl, user.token, { "x-request-id": "client-chosen-id-1" });
  const council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"]]);
  const turn = await waitForTurn(client, await sendAccepted(client, council.sessionId, SECRET_CONTENT));
  expect(turn.status).toBe("COMPLETED");

  const response = await fetch(server.graphqlUrl, { method: "POST", headers: { "content-type": "application/json", "x-request-id": "client-chosen-id-2" }, body: JSON.stringify({ query: "query Probe { __typename }" }) });
  expect(response.headers.get("x-request-id")).toBe("client-chosen-id-2");
  const generated = await fetch(server.graphqlUrl, { method: "POST", headers: { "content-type": "application/json", "x-request-id": "not a valid id, it has spaces" }, body: "{}" });
  expect(generated.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);

  const probe = await eventually(() => logLines().find((line) => line.msg === "request" && line.requestId === "client-chosen-id-2"));
  expect(probe).toMatchObject({ method: "POST", route: "/graphql", status: 200, operation: "Probe", operationType: "query" });
  expect(typeof probe.durationMs).toBe("number");
  const send = logLines().find((line) => line.msg === "request" && line.operation === "SendMessage");
  expect(send).toMatchObject({ requestId: "client-chosen-id-1", userId: user.id, operationType: "mutation", status: 200 });
  const ended = await eventually(() => logLines().find((line) => line.msg === "turn ended" && line.turnId === turn.id));
  expect(ended).toMatchObject({ status: "completed", mode: "roundtable", userId: user.id });
  expect(logLines().find((line) => line.msg === "turn started" && line.turnId === turn.id)).toBeDefined();

  expect(server.output()).not.toContain(SECRET_CONTENT);
  expect(server.output()).not.toContain(user.token);
});

test("a request that meets a lost database gets DATABASE_UNAVAILABLE with its request id, and its log line has the same id", async () => {
  const client = graphqlClient(server.graphqlUrl, user.token, { "x-request-id": "during-outage-1" });
  proxy.cut();
  try {
    const result = await client(RoomsDocument, { first: 5 });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: "DATABASE_UNAVAILABLE", requestId: "during-outage-1" });
  } finally {
    proxy.restore();
  }
  const line = await eventually(() => logLines().find((entry) => entry.requestId === "during-outage-1" && entry.msg !== "request"));
  expect(line).toMatchObject({ msg: "database unavailable", code: "DATABASE_UNAVAILABLE" });
  expect(line.level).toBeGreaterThanOrEqual(40);
  expect((await client(RoomsDocument, { first: 5 })).errors).toBeUndefined();
});

test("GET /metrics needs the token and exposes requests, operations, turns, provider calls, ledger, pool, gates and streams", async () => {
  const metricsUrl = server.graphqlUrl.replace("/graphql", "/metrics");
  expect((await fetch(metricsUrl)).status).toBe(401);
  expect((await fetch(metricsUrl, { headers: { authorization: "Bearer wrong-token-wrong-token-0000" } })).status).toBe(401);
  const response = await fetch(metricsUrl, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(response.status).toBe(200);
  const text = await response.text();
  for (const metric of [
    'pantheon_http_request_duration_seconds_count{method="POST",route="/graphql",status="200"}',
    'pantheon_graphql_operation_duration_seconds_count{operation="SendMessage",type="mutation"}',
    'pantheon_turns_total{mode="roundtable",status="completed"} 1',
    'pantheon_llm_calls_total{model_alias="qwen",status="success"} 1',
    "pantheon_ledger_rows_written_total 1",
    "pantheon_ledger_backlog_rows 0",
    'pantheon_db_pool_connections{state="waiting"} 0',
    'pantheon_gate_open{gate="migrations",required="true"} 1',
    "pantheon_sse_streams_open 0",
    "pantheon_process_resident_memory_bytes",
  ]) {
    expect(text, metric).toContain(metric);
  }
});

test("in production /metrics does not exist without METRICS_TOKEN", async () => {
  const inProcess = await startTestServer(database.url);
  try {
    const production = createApp({ ...inProcess.runtime, config: { ...inProcess.runtime.config, isProduction: true, metricsToken: undefined } });
    expect((await production.fetch("http://localhost/metrics")).status).toBe(404);
    const withToken = createApp({ ...inProcess.runtime, config: { ...inProcess.runtime.config, isProduction: true, metricsToken: METRICS_TOKEN } });
    expect((await withToken.fetch("http://localhost/metrics", { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status).toBe(200);
  } finally {
    await inProcess.close();
  }
});
