// A newcomer's first hour with `npm start` and no configuration: one server
// per data folder (a second refuses with one line and writes nothing), the ops
// commands act on the embedded database whether the server runs or not,
// SIGTERM to `npm start` stops everything, a busy port is one line before
// anything starts, and the offline provider streams visibly.
import { execFile, spawn } from "node:child_process";
import fs from "node:fs/promises";
import { createServer, type Server } from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { environmentWithoutAppConfig, startNpm, waitForOutput, type StartedProcess } from "./support/startProcess.ts";
import { dataOf, graphqlClient } from "./support/graphqlClient.ts";
import { CreateRoomDocument, RoomsDocument, ViewerDocument } from "./generated/graphql.ts";
import { loadConfig } from "../src/config/env.ts";
import { signDevToken } from "../src/auth/devToken.ts";
import { createCouncil, sendAccepted, waitForTurn } from "./fixtures/turns.ts";
import { streamTurnEvents } from "./support/eventClient.ts";
import { portBelowEphemeralRange } from "./support/ports.ts";

const run = promisify(execFile);
const port = () => String(portBelowEphemeralRange());
let dataDir: string;
let server: StartedProcess | null = null;
let serverPort: string;

function embeddedEnv(extra: Record<string, string> = {}) {
  return { DATABASE_URL: "", EMBEDDED_DATA_DIR: dataDir, LEDGER_BUFFER_DIR: path.join(dataDir, "ledger-buffer"), ...extra };
}

async function start(portNumber = port()) {
  serverPort = portNumber;
  server = await startNpm(embeddedEnv({ PORT: portNumber }), /Migration gate: ready/, 180_000);
  return server;
}

/** An ops command as a newcomer types it, with no DATABASE_URL. */
async function ops(script: string, args: string[]) {
  return run("npm", ["run", "--silent", script, "--", ...args], { env: { ...environmentWithoutAppConfig(), ...embeddedEnv() } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

async function token(user: string) {
  return signDevToken(loadConfig({}), { user, ttlSeconds: 600 });
}

beforeAll(async () => {
  await fs.mkdir("test-artifacts", { recursive: true });
  dataDir = await fs.mkdtemp(path.resolve("test-artifacts", "newcomer-"));
});

afterAll(async () => {
  await server?.stop().catch(() => undefined);
  await fs.rm(dataDir, { recursive: true, force: true });
});

describe("npm start on the embedded database", () => {
  test("prints where the embedded database listens; a second server on the same folder refuses with one line and writes nothing", async () => {
    const first = await start();
    const url = /Embedded database ready \([^)]*\): (postgresql:\/\/\S+)/.exec(first.output())?.[1];
    expect(url).toMatch(/^postgresql:\/\/postgres:postgres@127\.0\.0\.1:\d+\/postgres\?sslmode=disable$/);
    // Logs piped to a file or another process carry no terminal colour codes.
    expect(first.output()).not.toContain("\x1b[");
    const client = graphqlClient(`http://127.0.0.1:${serverPort}/graphql`, await token("first"));
    expect(dataOf(await client(CreateRoomDocument, { input: { name: "Kept room", goal: "Stay", mode: "ROUNDTABLE" } })).createRoom.__typename).toBe("CreateRoomSuccess");

    const second = spawn("npm", ["start"], { env: { ...environmentWithoutAppConfig(), ...embeddedEnv({ PORT: port() }) }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    second.stdout.on("data", (chunk) => (output += chunk));
    second.stderr.on("data", (chunk) => (output += chunk));
    const code = await new Promise<number | null>((resolve) => second.once("exit", resolve));
    expect(code).not.toBe(0);
    expect(output).toContain(`Another Pantheon server (pid `);
    expect(output).toContain(`is using the embedded database in ${dataDir}: stop it first, or set EMBEDDED_DATA_DIR to another folder.`);
    expect(output).not.toMatch(/Applying|GraphQL:|at .*\.ts:\d+/);

    // The first still serves, with its data.
    expect(dataOf(await client(RoomsDocument, { first: 10 })).rooms.edges.map((edge) => edge.node.name)).toEqual(["Kept room"]);
  }, 240_000);

  test("ops commands without DATABASE_URL act on the running server's embedded database", async () => {
    const userId = dataOf(await graphqlClient(`http://127.0.0.1:${serverPort}/graphql`, await token("first"))(ViewerDocument)).viewer!.id;
    const promoted = await ops("admin", ["grant", "--user", userId, "--role", "owner", "--actor", "newcomer"]);
    expect(promoted).toMatchObject({ code: 0 });
    expect(promoted.stderr).toContain(`Using the embedded database of the server running on ${dataDir}`);
    const wallet = await ops("credits", ["wallet", "--user", userId]);
    expect(wallet.stdout).toMatch(/plan starter/);
    const check = await ops("check", []);
    expect(check.stdout).toContain("migrations (Gate A): ok");
  }, 120_000);

  test("SIGTERM to npm start's own process stops the server cleanly: nothing left running, the exit logged", async () => {
    const running = server!;
    const npmPid = running.child.pid!;
    server = null;
    // The signal goes to npm alone, as a process manager or `kill <pid>` sends it; npm's group is its pid.
    process.kill(npmPid, "SIGTERM");
    const deadline = Date.now() + 30_000;
    while (groupAlive(npmPid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const leftOver = groupAlive(npmPid);
    if (leftOver) process.kill(-npmPid, "SIGKILL");
    expect(leftOver).toBe(false);
    expect(running.output()).toContain("shutdown: done");
  }, 60_000);

  test("ops commands without DATABASE_URL and no server open the embedded database themselves; the data is all there", async () => {
    const userId = (await ops("admin", ["list"])).stdout;
    expect(userId).toMatch(/owner/);
    const restarted = await start();
    expect(restarted.output()).toContain("embedded database: up to date");
    const client = graphqlClient(`http://127.0.0.1:${serverPort}/graphql`, await token("first"));
    expect(dataOf(await client(RoomsDocument, { first: 10 })).rooms.edges.map((edge) => edge.node.name)).toEqual(["Kept room"]);
  }, 240_000);

  test("the offline provider streams its answers a word at a time in development, so a turn can be watched", async () => {
    const userToken = await token("watcher");
    const client = graphqlClient(`http://127.0.0.1:${serverPort}/graphql`, userToken);
    const council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"]]);
    const turnId = await sendAccepted(client, council.sessionId, "Show me a stream");
    const { events } = await streamTurnEvents(`http://127.0.0.1:${serverPort}/graphql`, userToken, turnId).done;
    expect(events.filter((event) => event.__typename === "StepDelta").length).toBeGreaterThan(5);
    expect((await waitForTurn(client, turnId)).status).toBe("COMPLETED");
  }, 60_000);

  test("a server killed outright leaves no lock behind: the next start takes the folder", async () => {
    const groupId = server!.child.pid!;
    process.kill(-groupId, "SIGKILL");
    while (groupAlive(groupId)) await new Promise((resolve) => setTimeout(resolve, 50));
    server = null;
    const again = await start();
    expect(again.output()).toContain("Embedded database ready");
  }, 240_000);

  test("a busy port is one line naming PORT, before the embedded database starts", async () => {
    const blocker: Server = createServer();
    const busy = port();
    await new Promise<void>((resolve) => blocker.listen(Number(busy), resolve));
    try {
      const child = spawn("npm", ["start"], { env: { ...environmentWithoutAppConfig(), ...embeddedEnv({ PORT: busy, EMBEDDED_DATA_DIR: path.join(dataDir, "other") }) }, stdio: ["ignore", "pipe", "pipe"] });
      const outcome = await waitForOutput(child, /never/, 60_000).catch((error: Error) => error.message);
      expect(outcome).toContain(`Port ${busy} is in use by another process: stop it, or start this server on another port with PORT=<port>.`);
      expect(outcome).not.toContain("Starting the embedded database");
    } finally {
      blocker.close();
    }
  }, 90_000);
});

function groupAlive(groupId: number): boolean {
  try {
    process.kill(-groupId, 0);
    return true;
  } catch {
    return false;
  }
}
