// A server pointed at an unmigrated database refuses DB-backed traffic, says
// why, and turns ready by itself once ops run `prisma migrate deploy`.
import { randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createEmptyDatabase, migrateDeploy, type TestDatabase } from "./support/database.ts";
import { startTestServer, TEST_JWT_SECRET, type TestServer } from "./support/server.ts";
import { dataOf, errorCodes, graphqlClient, type GraphQLClient } from "./support/graphqlClient.ts";
import { CreateRoomDocument, RoomsDocument, SystemStatusDocument } from "./generated/graphql.ts";
import { signDevToken } from "../src/auth/devToken.ts";

const RECHECK_MS = 250;
let database: TestDatabase;
let server: TestServer;
let client: GraphQLClient;

async function publicTables(): Promise<string[]> {
  const connection = new pg.Client({ connectionString: database.url });
  await connection.connect();
  try {
    const { rows } = await connection.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
    return rows.map((row) => row.tablename);
  } finally {
    await connection.end();
  }
}

async function waitFor<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const readyzStatus = async () => (await fetch(`${server.url}/readyz`)).status;
const createRoom = () => client(CreateRoomDocument, { input: { name: "War room", goal: "Plan the launch", mode: "MANUAL" } });

beforeAll(async () => {
  database = await createEmptyDatabase("readiness");
  server = await startTestServer(database.url, { READINESS_RECHECK_MS: String(RECHECK_MS) });
  client = graphqlClient(server.graphqlUrl, await signDevToken(server.runtime.config, { user: "ops-test", ttlSeconds: 600 }));
});
afterAll(async () => {
  await server?.close();
  await database?.drop();
});

describe("against an empty database", () => {
  test("liveness answers, readiness is 503 and says which gate and why", async () => {
    const healthz = await fetch(`${server.url}/healthz`);
    expect(healthz.status).toBe(200);
    expect(await healthz.json()).toMatchObject({ alive: true });
    const readyz = await fetch(`${server.url}/readyz`);
    expect(readyz.status).toBe(503);
    const body = (await readyz.json()) as { ready: boolean; gates: { gate: string; ok: boolean; reasons: string[] }[] };
    expect(body.ready).toBe(false);
    expect(body.gates.find((gate) => gate.gate === "migrations")).toMatchObject({
      ok: false,
      reasons: [expect.stringContaining("no migrations applied")],
    });
  });

  test("a gated mutation returns NotReadyError naming the gate and its reasons", async () => {
    const result = dataOf(await createRoom()).createRoom;
    expect(result).toMatchObject({ __typename: "NotReadyError", code: "NOT_READY", gate: "migrations" });
    expect(result.__typename === "NotReadyError" && result.reasons[0]).toContain("prisma migrate deploy");
  });

  test("a gated query fails with extensions.code NOT_READY", async () => {
    const result = await client(RoomsDocument, { first: 5 });
    expect(errorCodes(result)).toEqual(["NOT_READY"]);
  });

  test("systemStatus still answers, without the database", async () => {
    const status = dataOf(await client(SystemStatusDocument)).systemStatus;
    expect(status.ready).toBe(false);
    expect(status.gates.map((gate) => [gate.gate, gate.ok])).toContainEqual(["migrations", false]);
  });

  test("the server created no table", async () => {
    expect(await publicTables()).toEqual([]);
  });
});

describe("after prisma migrate deploy, without a restart", () => {
  test("readiness turns 200 within the re-check interval and the same mutation succeeds", async () => {
    await migrateDeploy(database.url);
    expect(await waitFor(readyzStatus, (status) => status === 200, RECHECK_MS * 8)).toBe(200);
    expect(dataOf(await createRoom()).createRoom).toMatchObject({ __typename: "CreateRoomSuccess", room: { name: "War room" } });
    expect(dataOf(await client(RoomsDocument, { first: 5 })).rooms.edges).toHaveLength(1);
  });

  test("a request failing because a table was dropped makes the server re-verify and close", async () => {
    await server.runtime.readiness.recheck();
    const connection = new pg.Client({ connectionString: database.url });
    await connection.connect();
    await connection.query("DROP TABLE room_agents CASCADE");
    await connection.end();
    // The steady-state refresh is slow; the failing request is what triggers the re-check.
    const failed = await client(RoomsDocument, { first: 5 });
    expect(failed.errors?.length).toBeGreaterThan(0);
    expect(await waitFor(readyzStatus, (status) => status === 503, 2_000)).toBe(503);
    expect(errorCodes(await client(RoomsDocument, { first: 5 }))).toEqual(["NOT_READY"]);
    const status = dataOf(await client(SystemStatusDocument)).systemStatus;
    expect(status.gates.find((gate) => gate.gate === "migrations")?.reasons).toContain(
      "table room_agents missing although its migrations are recorded as applied",
    );
  });
});

describe("in production", () => {
  let productionDatabase: TestDatabase;
  let productionServer: TestServer;

  beforeAll(async () => {
    productionDatabase = await createEmptyDatabase("readiness_prod");
    productionServer = await startTestServer(productionDatabase.url, {
      APP_ENV: "production",
      SUPABASE_URL: "http://127.0.0.1:9",
      SUPABASE_SERVICE_ROLE_KEY: "service-role-key-for-tests-only",
      OPENROUTER_API_KEY: "test-openrouter-key",
      ROLLOUT_STAGE: "closed_beta",
    });
  });
  afterAll(async () => {
    await productionServer?.close();
    await productionDatabase?.drop();
  });

  test("NotReadyError and /readyz name the gate but keep the reasons to ops and admins", async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(randomUUID())
      .setAudience("authenticated")
      .setExpirationTime("10m")
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    const production = graphqlClient(productionServer.graphqlUrl, token);
    const result = dataOf(await production(CreateRoomDocument, { input: { name: "Room", goal: "", mode: "MANUAL" } })).createRoom;
    expect(result).toMatchObject({ __typename: "NotReadyError", gate: "migrations", reasons: [] });
    const readyz = await fetch(`${productionServer.url}/readyz`);
    expect(readyz.status).toBe(503);
    expect(await readyz.json()).toMatchObject({ ready: false, gates: expect.arrayContaining([{ gate: "migrations", ok: false, required: true, reasons: [], checkedAt: expect.any(String) }]) });
  });
});
