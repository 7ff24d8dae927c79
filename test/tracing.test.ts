// Optional OpenTelemetry traces. With an OTLP endpoint, a GraphQL operation's
// span has its SQL statements as children, and the turn a message starts has a
// span under which the turn's statements and provider calls nest; nothing
// exported carries message content or tokens; a collector that refuses
// exports costs one log line, never a request. Without an endpoint nothing is
// exported and the pool is the pool.
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { startServerProcess, type ServerProcess } from "./support/serverProcess.ts";
import { startOtlpCollector, type ExportedSpan, type OtlpCollector } from "./support/otlpCollector.ts";
import { graphqlClient, type GraphQLClient } from "./support/graphqlClient.ts";
import { createCouncil, sendAccepted, waitForTurn } from "./fixtures/turns.ts";
import { createTestUser, type TestUser } from "./fixtures/users.ts";
import { RoomsDocument } from "./generated/graphql.ts";
import { loadConfig } from "../src/config/env.ts";
import { createDb } from "../src/db.ts";
import { tracingPlugins } from "../src/http/tracingPlugin.ts";

const SECRET_CONTENT = "a-traced-but-private-message-91c2";
const FAST_EXPORT = { OTEL_BSP_SCHEDULE_DELAY: "100" };
const UNSET = { OTEL_EXPORTER_OTLP_ENDPOINT: "", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "" };

let database: TestDatabase;
let collector: OtlpCollector;
let server: ServerProcess;
let user: TestUser;

beforeAll(async () => {
  database = await createMigratedDatabase("tracing");
  collector = await startOtlpCollector();
  server = await startServerProcess(database.url, { ...FAST_EXPORT, OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, LOG_LEVEL: "warn" });
  user = await createTestUser();
});

afterAll(async () => {
  await server?.stop();
  await collector?.close();
  await database?.drop();
});

async function eventually<T>(find: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error("not exported in time");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function descendants(root: ExportedSpan, spans: ExportedSpan[]): ExportedSpan[] {
  const children = spans.filter((span) => span.parentSpanId === root.spanId);
  return [...children, ...children.flatMap((child) => descendants(child, spans))];
}

const isSql = (span: ExportedSpan) => span.attributes["db.system"] === "postgresql";

async function converse(client: GraphQLClient): Promise<string> {
  const council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"]]);
  const turn = await waitForTurn(client, await sendAccepted(client, council.sessionId, SECRET_CONTENT));
  expect(turn.status).toBe("COMPLETED");
  return turn.id;
}

test("a SendMessage span has its SQL as children; the turn's span has the turn's SQL and provider call; no content, no token", async () => {
  const turnId = await converse(graphqlClient(server.graphqlUrl, user.token, { "x-request-id": "traced-request-1" }));

  const turn = await eventually(() => collector.spans().find((span) => span.name === "turn" && span.attributes["turn.id"] === turnId));
  const spans = collector.spans();
  const operation = spans.find((span) => span.attributes["graphql.operation.name"] === "SendMessage");
  expect(operation).toMatchObject({ name: "mutation SendMessage", service: "pantheon-api", parentSpanId: undefined });
  expect(operation!.attributes).toMatchObject({ "graphql.operation.type": "mutation", "pantheon.request.id": "traced-request-1" });
  const operationSql = descendants(operation!, spans).filter(isSql);
  // acceptMessage's two statements: the read and the turn's insert.
  expect(operationSql.length).toBeGreaterThanOrEqual(2);

  expect(turn).toMatchObject({ traceId: operation!.traceId, parentSpanId: operation!.spanId, statusCode: 0 });
  expect(turn.attributes).toMatchObject({ "turn.mode": "roundtable", "turn.status": "completed" });
  const underTurn = descendants(turn, spans);
  expect(underTurn.filter(isSql).length).toBeGreaterThan(0);
  const call = underTurn.find((span) => span.attributes["llm.model_alias"] === "qwen");
  expect(call).toMatchObject({ name: "chat qwen", statusCode: 0 });
  expect(call!.attributes).toMatchObject({ "gen_ai.provider.name": "local", "llm.status": "success", "llm.call_kind": "agent" });
  expect(typeof call!.attributes["llm.latency_ms"]).toBe("number");

  for (const span of spans.filter(isSql)) expect(String(span.attributes["db.statement"]).length).toBeLessThanOrEqual(1000);
  // The message is a parameter; the user id is a literal in the accepting statements: neither is exported.
  const exported = collector.bodies().join("\n");
  expect(exported).not.toContain(SECRET_CONTENT);
  expect(exported).not.toContain(user.token);
  expect(exported).not.toContain(user.id);
});

test("a collector that refuses exports costs one warning and no request", async () => {
  collector.refuse(true);
  try {
    const client = graphqlClient(server.graphqlUrl, user.token);
    for (let attempt = 0; attempt < 3; attempt++) {
      expect((await client(RoomsDocument, { first: 5 })).errors).toBeUndefined();
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    await eventually(() => (server.output().includes("trace export failed") ? true : undefined));
    expect(server.output().split("trace export failed").length - 1).toBe(1);
  } finally {
    collector.refuse(false);
  }
});

test("without an OTLP endpoint a server exports nothing", async () => {
  await server.stop();
  const before = collector.bodies().length;
  const untraced = await startServerProcess(database.url, { ...FAST_EXPORT, ...UNSET, OTEL_SERVICE_NAME: "untraced" });
  try {
    await converse(graphqlClient(untraced.graphqlUrl, user.token));
    await new Promise((resolve) => setTimeout(resolve, 500));
  } finally {
    await untraced.stop();
  }
  expect(collector.bodies().length).toBe(before);
});

test("tracing off: configuration is null, the pool is not wrapped, and Yoga gets no tracing plugin", async () => {
  expect(loadConfig({ ...UNSET }).tracing).toBeNull();
  const db = createDb({ poolUrl: database.url, poolMax: 1 });
  try {
    expect(db.pool.query).toBe(pg.Pool.prototype.query);
    expect(db.pool.connect).toBe(pg.Pool.prototype.connect);
  } finally {
    await db.close();
  }
  expect(tracingPlugins()).toEqual([]);
});

test.each([
  [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }, { tracesUrl: "http://collector:4318/v1/traces", serviceName: "pantheon-api" }],
  [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/otlp/", OTEL_SERVICE_NAME: "api-eu" }, { tracesUrl: "http://collector:4318/otlp/v1/traces", serviceName: "api-eu" }],
  [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:4318", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://b/traces" }, { tracesUrl: "https://b/traces", serviceName: "pantheon-api" }],
])("OTLP endpoint %o → %o", (env, expected) => {
  expect(loadConfig(env).tracing).toEqual(expected);
});

test("a malformed OTLP endpoint is refused by name, not echoed", () => {
  expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "not a url" })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT must be a URL/);
});
