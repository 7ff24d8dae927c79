// A newcomer's first command: `npm start` with no configuration at all.
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startNpm, type StartedProcess } from "./support/startProcess.ts";
import { dataOf, graphqlClient } from "./support/graphqlClient.ts";
import { CreateRoomDocument, RoomsDocument } from "./generated/graphql.ts";
import { loadConfig } from "../src/config/env.ts";
import { signDevToken } from "../src/auth/devToken.ts";
import { createCouncil, sendAccepted, waitForTurn } from "./fixtures/turns.ts";
import { portBelowEphemeralRange } from "./support/ports.ts";

/** node-postgres's idle timeout for pooled connections (db.ts) is 30 s; a little more. */
const IDLE_PAST_POOL_TIMEOUT_MS = 31_000;
const PORT = String(portBelowEphemeralRange());
const base = `http://127.0.0.1:${PORT}`;
let dataDir: string;
let server: StartedProcess | null = null;

async function start() {
  // DATABASE_URL as .env.example writes it: empty means unset, so the embedded database.
  server = await startNpm({ PORT, DATABASE_URL: "", EMBEDDED_DATA_DIR: dataDir, LEDGER_BUFFER_DIR: path.join(dataDir, "ledger-buffer") }, /Migration gate: ready/);
  return server;
}

async function graphql(query: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query }),
  });
  return (await response.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
}

beforeAll(async () => {
  await fs.mkdir("test-artifacts", { recursive: true });
  dataDir = await fs.mkdtemp(path.resolve("test-artifacts", "embedded-"));
});
afterAll(async () => {
  await server?.stop().catch(() => undefined);
  await fs.rm(dataDir, { recursive: true, force: true });
});

describe("npm start with no configuration", () => {
  test("starts on the embedded database, migrates it, and prints the GraphiQL URL", async () => {
    const started = await start();
    expect(started.output()).toContain(`http://localhost:${PORT}/graphql`);
    expect(started.output()).toContain("embedded PGlite");
  }, 180_000);

  test("serves GraphiQL as HTML and answers GraphQL over HTTP", async () => {
    const page = await fetch(`${base}/graphql`, { headers: { accept: "text/html" } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toMatch(/graphiql/i);

    const result = await graphql("{ systemStatus { ready gates { gate ok } } }");
    expect(result.errors).toBeUndefined();
    expect(result.data?.systemStatus).toMatchObject({ ready: true });
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  test("keeps its data across a restart and does not migrate again", async () => {
    // The same dev token `npm run token -- --user newcomer` prints.
    const token = await signDevToken(loadConfig({}), { user: "newcomer", ttlSeconds: 600 });
    const client = graphqlClient(`${base}/graphql`, token);
    const created = dataOf(await client(CreateRoomDocument, { input: { name: "First room", goal: "Try Pantheon", mode: "ROUNDTABLE" } }));
    expect(created.createRoom.__typename).toBe("CreateRoomSuccess");

    expect(await server!.stop()).not.toBe(1);
    const restarted = await start();
    expect(restarted.output()).toContain("embedded database: up to date");
    const rooms = dataOf(await client(RoomsDocument, { first: 10 })).rooms.edges.map((edge) => edge.node.name);
    expect(rooms).toEqual(["First room"]);
  }, 180_000);

  test("after idling past the pool's idle timeout, the rooms list and a sent message still work (one PGlite session, nothing prepared twice)", async () => {
    const token = await signDevToken(loadConfig({}), { user: "idler", ttlSeconds: 600 });
    const client = graphqlClient(`${base}/graphql`, token);
    const council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"]]);
    expect((await waitForTurn(client, await sendAccepted(client, council.sessionId, "Before the pause"))).status).toBe("COMPLETED");
    await new Promise((resolve) => setTimeout(resolve, IDLE_PAST_POOL_TIMEOUT_MS));
    expect(dataOf(await client(RoomsDocument, { first: 10 })).rooms.edges.length).toBeGreaterThan(0);
    expect((await waitForTurn(client, await sendAccepted(client, council.sessionId, "After the pause"))).status).toBe("COMPLETED");
    expect(server!.output()).not.toMatch(/already exists|Unexpected error/);
  }, 120_000);
});
