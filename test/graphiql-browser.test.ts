// A real browser uses GraphiQL from the server as `npm start` runs it:
// assets served locally (no CDN), a dev token from `npm run token` entered in
// the Headers tab, a query run, its result shown. Screenshot in test-artifacts/.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs/promises";
import { promisify } from "node:util";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { CreateRoomDocument } from "./generated/graphql.ts";
import { dataOf, graphqlClient } from "./support/graphqlClient.ts";

const run = promisify(execFile);
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"];
const SCREENSHOT = "test-artifacts/graphiql.png";

let database: TestDatabase;
let server: ChildProcess;
let browser: Browser;
let baseUrl: string;
const env = () => ({ ...process.env, APP_ENV: "development", SUPABASE_JWT_SECRET: "", SUPABASE_URL: "", SUPABASE_JWKS_URL: "", ROLLOUT_STAGE: "" });

/** Starts src/server.ts (what `npm start` runs after prisma generate) and waits for its URL. */
function startServer(databaseUrl: string): Promise<string> {
  server = spawn(process.execPath, ["node_modules/tsx/dist/cli.mjs", "src/server.ts"], {
    env: { ...env(), DATABASE_URL: databaseUrl, DATABASE_POOL_URL: databaseUrl, PORT: "0", LOG_LEVEL: "error" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let output = "";
    server.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /GraphQL: (http:\/\/localhost:\d+)\/graphql/.exec(output);
      if (match) resolve(match[1]!.replace("localhost", "127.0.0.1"));
    });
    server.once("exit", (code) => reject(new Error(`server exited with ${code}: ${output}`)));
  });
}

beforeAll(async () => {
  database = await createMigratedDatabase("graphiql");
  baseUrl = await startServer(database.url);
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
});
afterAll(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once("exit", resolve));
    server.kill("SIGTERM");
    await exited;
  }
  await database?.drop();
});

test("GraphiQL runs a query with a dev token and shows the result", async () => {
  const { stdout } = await run(process.execPath, ["node_modules/tsx/dist/cli.mjs", "src/cli/token.ts", "--user", "grace"], { env: env() });
  const token = stdout.trim();
  const room = dataOf(await graphqlClient(`${baseUrl}/graphql`, token)(CreateRoomDocument, { input: { name: "Browser-tested room" } })).createRoom;
  expect(room.__typename).toBe("CreateRoomSuccess");

  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const offsite: string[] = [];
  page.on("request", (request) => {
    if (!request.url().startsWith(baseUrl) && !/^(data|blob):/.test(request.url())) offsite.push(request.url());
  });
  await page.goto(`${baseUrl}/graphql`, { waitUntil: "load" });
  await page.getByRole("button", { name: "Headers" }).click();
  await page.locator(".graphiql-editor-tool .monaco-editor").last().click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await page.keyboard.insertText(`{ "Authorization": "Bearer ${token}" }`);
  await page.getByRole("button", { name: /Execute query/ }).click();

  // Monaco renders spaces as no-break spaces.
  const resultText = async () => (await page.locator(".result-window").innerText()).replace(/\u00a0/g, " ");
  await expect.poll(resultText, { timeout: 20_000 }).toContain('"name": "Browser-tested room"');
  expect(await resultText()).toContain('"admitted": true');
  await fs.mkdir("test-artifacts", { recursive: true });
  await page.screenshot({ path: SCREENSHOT });
  expect(offsite).toEqual([]);
});
