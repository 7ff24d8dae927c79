// A frontend developer's first use of the API, by hand, in a real browser:
// GraphiQL from the server as `npm start` runs it (assets served locally, no
// CDN), a dev token from `npm run token` in the Headers tab, then every
// operation of the default document picked by name from ▶, each id copied
// from the result pane into the Variables tab, and Follow streamed by
// GraphiQL itself over SSE. Screenshots of Follow and Cost in test-artifacts/.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import fs from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { CSRF_HEADER, GRAPHIQL_DEV_USER } from "../src/http/graphiql.ts";
import { devUserId } from "../src/auth/devToken.ts";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { environmentWithoutAppConfig } from "./support/startProcess.ts";

const run = promisify(execFile);
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"];
const ARTIFACTS = "test-artifacts";
const JOURNEY_TIMEOUT_MS = 120_000;
const RESULT_TIMEOUT_MS = 20_000;
const SCROLL_STEP_PX = 40;
const SCROLL_TIMEOUT_MS = 10_000;
const DECIMAL = expect.stringMatching(/^\d+(\.\d+)?$/);

interface Id {
  id: string;
}

/** Development, signed by the dev secret, local LLM provider: no Supabase or OpenRouter settings reach the processes. */
const appEnv = () => ({ ...environmentWithoutAppConfig(), APP_ENV: "development" });

let database: TestDatabase;
let server: ChildProcess;
let serverOutput = "";
let ledgerBufferDir: string;
let browser: Browser;
let baseUrl: string;

/** Starts src/server.ts (what `npm start` runs after prisma generate) and waits for its URL and an open migration gate. */
function startServer(databaseUrl: string): Promise<string> {
  server = spawn(process.execPath, ["node_modules/tsx/dist/cli.mjs", "src/server.ts"], {
    env: { ...appEnv(), DATABASE_URL: databaseUrl, DATABASE_POOL_URL: databaseUrl, PORT: "0", LOG_LEVEL: "error", LEDGER_BUFFER_DIR: ledgerBufferDir },
    stdio: ["ignore", "pipe", "pipe"],
  });
  server.stderr!.on("data", (chunk: Buffer) => (serverOutput += chunk.toString()));
  return new Promise((resolve, reject) => {
    server.stdout!.on("data", (chunk: Buffer) => {
      serverOutput += chunk.toString();
      const url = /GraphQL: (http:\/\/localhost:\d+)\/graphql/.exec(serverOutput)?.[1];
      const gate = /Migration gate: (.*)/.exec(serverOutput)?.[1];
      if (gate === undefined || url === undefined) return;
      if (gate.startsWith("ready")) resolve(url.replace("localhost", "127.0.0.1"));
      else reject(new Error(`the migration gate is closed: ${serverOutput}`));
    });
    server.once("exit", (code) => reject(new Error(`server exited with ${code}: ${serverOutput}`)));
  });
}

beforeAll(async () => {
  database = await createMigratedDatabase("graphiql");
  ledgerBufferDir = mkdtempSync(path.join(tmpdir(), "pantheon-graphiql-ledger-"));
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
  if (ledgerBufferDir) rmSync(ledgerBufferDir, { recursive: true, force: true });
});

/** As the README says: `npm run token -- --user <name>` (the script runs src/cli/token.ts with tsx). */
async function devToken(user: string): Promise<string> {
  const { stdout } = await run(process.execPath, ["node_modules/tsx/dist/cli.mjs", "src/cli/token.ts", "--user", user], { env: appEnv() });
  return stdout.trim();
}

/** The text of a Monaco editor as shown: its rendered lines in order, no-break spaces made plain. */
function editorText(page: Page, editor: string): Promise<string> {
  return page.locator(`${editor} .view-lines > .view-line`).evaluateAll((lines) =>
    (lines as HTMLElement[])
      .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
      .map((line) => (line.textContent ?? "").replace(/\u00a0/g, " "))
      .join("\n"),
  );
}

/** The result pane's JSON as a person copies it (Ctrl+A, Ctrl+C: long lines wrap on screen), or its raw text while it is not (yet) JSON. */
async function resultPane(page: Page): Promise<unknown> {
  await page.locator(".result-window .monaco-editor").click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Control+C");
  const text = await page.evaluate(() => navigator.clipboard.readText());
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Replaces the content of the Variables or Headers tab by pasting into it, as a person copies ids from results. */
async function pasteIntoEditorTool(page: Page, tab: "Variables" | "Headers", value: Record<string, unknown>): Promise<void> {
  await page.getByRole("button", { name: tab, exact: true }).click();
  const editor = ".graphiql-editor-tool .graphiql-editor:not(.hidden)";
  await page.evaluate((text) => navigator.clipboard.writeText(text), JSON.stringify(value, null, 2));
  await page.locator(`${editor} .monaco-editor`).click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Control+V");
  await expect.poll(async () => JSON.parse(await editorText(page, editor)) as unknown).toEqual(value);
}

/** Scrolls the query editor down until the operation starts in its upper half, as a person looks at what they are about to run. */
async function scrollQueryEditorTo(page: Page, operation: string): Promise<void> {
  await page.locator(".graphiql-query-editor .monaco-editor").hover();
  const inUpperHalf = async () => {
    const lines = (await editorText(page, ".graphiql-query-editor")).split("\n");
    const line = lines.findIndex((text) => text.startsWith(operation));
    return line >= 0 && line < lines.length / 2;
  };
  await expect
    .poll(async () => (await inUpperHalf()) || (await page.mouse.wheel(0, SCROLL_STEP_PX), false), { timeout: SCROLL_TIMEOUT_MS, message: `${operation} in view` })
    .toBe(true);
}

/** A screenshot in test-artifacts/, once a click has cleared the selection the copying left in the result pane. */
async function screenshot(page: Page, name: string): Promise<void> {
  await page.locator(".result-window .monaco-editor").click();
  await fs.mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: `${ARTIFACTS}/${name}` });
}

/** ▶ with several operations asks which one to run: choose it by name, then wait until the result pane shows `expected`. */
async function runOperation<Data>(page: Page, name: string, expected: { data: Record<string, unknown> }): Promise<{ data: Data }> {
  // While a subscription runs the button stops it instead; it reads "Execute query" again once the stream has ended.
  await page.getByRole("button", { name: /^Execute query/ }).click();
  await page.getByRole("menuitem", { name, exact: true }).click();
  await expect.poll(() => resultPane(page), { timeout: RESULT_TIMEOUT_MS, message: `the result of ${name}` }).toMatchObject(expected);
  const result = (await resultPane(page)) as { data: Data };
  expect(result, `the result of ${name}`).not.toHaveProperty("errors");
  return result;
}

test(
  "GraphiQL runs the whole default document, Follow included, with a dev token and ids copied between results",
  async () => {
    const token = await devToken("grace");
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: baseUrl });
    const offsite: string[] = [];
    const eventStreams: { method: string; url: string; csrfHeader: string | undefined }[] = [];
    page.on("request", (request) => {
      if (!request.url().startsWith(baseUrl) && !/^(data|blob):/.test(request.url())) offsite.push(request.url());
    });
    page.on("response", (response) => {
      if (!response.headers()["content-type"]?.includes("text/event-stream")) return;
      const request = response.request();
      eventStreams.push({ method: request.method(), url: request.url(), csrfHeader: request.headers()[CSRF_HEADER] });
    });
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));

    await page.goto(`${baseUrl}/graphql`, { waitUntil: "load" });
    await page.locator(".result-window .view-lines").waitFor();
    // Every text the result pane ever shows, not only the final ones, is checked for errors.
    const errorsShown: string[] = [];
    await page.exposeFunction("reportErrorsShown", (text: string) => errorsShown.push(text));
    await page.evaluate(() => {
      const pane = document.querySelector(".result-window")!;
      new MutationObserver(() => {
        const text = pane.querySelector(".view-lines")?.textContent ?? "";
        if (text.includes('"errors"')) void (window as unknown as { reportErrorsShown(text: string): Promise<void> }).reportErrorsShown(text);
      }).observe(pane, { subtree: true, childList: true, characterData: true });
    });

    await pasteIntoEditorTool(page, "Headers", { Authorization: `Bearer ${token}` });

    const agent = (agentKey: string) => ({ agent: { id: expect.any(String), agentKey } });
    const agents = await runOperation<{ ada: { agent: Id }; bob: { agent: Id } }>(page, "CreateAgents", { data: { ada: agent("ada"), bob: agent("bob") } });
    const room = await runOperation<{ createRoom: { room: Id } }>(page, "CreateRoom", { data: { createRoom: { room: { id: expect.any(String), name: "Launch council" } } } });
    const variables: Record<string, string> = { roomId: room.data.createRoom.room.id, adaId: agents.data.ada.agent.id, bobId: agents.data.bob.agent.id };
    await pasteIntoEditorTool(page, "Variables", variables);

    const assigned = { room: { agents: expect.arrayContaining([{ agentKey: "ada" }, { agentKey: "bob" }]) } };
    await runOperation(page, "AssignAgents", { data: { first: expect.any(Object), second: assigned } });
    const session = await runOperation<{ createSession: { session: Id } }>(page, "StartSession", { data: { createSession: { session: { id: expect.any(String) } } } });
    variables.sessionId = session.data.createSession.session.id;
    await pasteIntoEditorTool(page, "Variables", variables);
    const sent = await runOperation<{ sendMessage: { turn: Id } }>(page, "Send", { data: { sendMessage: { turn: { id: expect.any(String), status: "RUNNING" } } } });
    variables.turnId = sent.data.sendMessage.turn.id;
    await pasteIntoEditorTool(page, "Variables", variables);

    await scrollQueryEditorTo(page, "subscription Follow");
    const completed = { __typename: "TurnCompleted", turnStatus: "COMPLETED", usage: { calls: expect.any(Number), credits: DECIMAL } };
    const followed = await runOperation<{ turnEvents: { usage: { calls: number; credits: string } } }>(page, "Follow", { data: { turnEvents: completed } });
    // GraphiQL's own transport: SSE over a GET, which the CSRF guard lets through for the header GraphiQL is configured to send.
    expect(eventStreams).toEqual([{ method: "GET", url: expect.stringContaining("operationName=Follow"), csrfHeader: expect.any(String) }]);
    await screenshot(page, "graphiql-follow.png");

    await scrollQueryEditorTo(page, "query Cost");
    const totals = followed.data.turnEvents.usage;
    const step = (agentKey: string) => ({ agentKey, status: "COMPLETED", output: expect.any(String) });
    await runOperation(page, "Cost", {
      data: { turn: { status: "COMPLETED", steps: [step("ada"), step("bob")], usageTotals: { calls: totals.calls, credits: totals.credits } } },
    });
    await screenshot(page, "graphiql-cost.png");

    await runOperation(page, "Conversations", { data: { viewer: { sessions: { edges: [{ node: { id: variables.sessionId, turnCount: 1 } }] } } } });

    expect(errorsShown).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(offsite).toEqual([]);
    expect(serverOutput).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
    expect(serverOutput).not.toContain('"stack"');
  },
  JOURNEY_TIMEOUT_MS,
);

test(
  "in development GraphiQL opens signed in, a new tab stays signed in, MyAgents finds agents after CONFLICT, and the instructions fit the editor",
  async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: baseUrl });
    await page.goto(`${baseUrl}/graphql`, { waitUntil: "load" });
    await page.locator(".graphiql-query-editor .view-lines").waitFor();

    // Every instruction line ends inside the query editor, at a laptop's width.
    const overflowing = await page.evaluate(() => {
      const editor = document.querySelector(".graphiql-query-editor .monaco-editor")!.getBoundingClientRect();
      return [...document.querySelectorAll(".graphiql-query-editor .view-line")]
        .filter((line) => (line.textContent ?? "").trimStart().startsWith("#"))
        .filter((line) => line.firstElementChild!.getBoundingClientRect().right > editor.right)
        .map((line) => line.textContent);
    });
    expect(overflowing).toEqual([]);

    await page.getByRole("button", { name: "Headers", exact: true }).click();
    const headersEditor = ".graphiql-editor-tool .graphiql-editor:not(.hidden)";
    await expect.poll(() => editorText(page, headersEditor)).toMatch(/"Authorization": "Bearer [\w-]+\.[\w-]+\.[\w-]+"/);

    // Agents made, then CreateAgents again: CONFLICT, and MyAgents lists the ones there are.
    await runOperation(page, "CreateAgents", { data: { ada: { agent: { agentKey: "ada" } }, bob: { agent: { agentKey: "bob" } } } });
    await runOperation(page, "CreateAgents", { data: { ada: { code: "CONFLICT" }, bob: { code: "CONFLICT" } } });
    const listed = await runOperation<{ agents: { edges: { node: { agentKey: string } }[] } }>(page, "MyAgents", { data: { agents: { edges: expect.any(Array) } } });
    expect(listed.data.agents.edges.map((edge) => edge.node.agentKey).sort()).toEqual(["ada", "bob"]);

    // A new tab (+) is signed in as the same user.
    await page.getByRole("button", { name: "New tab" }).click();
    await expect.poll(() => editorText(page, headersEditor)).toMatch(/"Authorization": "Bearer [\w-]+\.[\w-]+\.[\w-]+"/);
    await page.locator(".graphiql-query-editor .monaco-editor").click();
    await page.keyboard.press("Control+A");
    await page.evaluate((text) => navigator.clipboard.writeText(text), "query Me { viewer { id } }");
    await page.keyboard.press("Control+V");
    await expect.poll(() => editorText(page, ".graphiql-query-editor")).toBe("query Me { viewer { id } }");
    // The answer as the page received it (GraphiQL's result pane in a fresh tab is slow to paint in headless Chromium).
    // GraphiQL takes the editor's text into its state a moment after typing (it then shows in the page's URL).
    await expect.poll(() => decodeURIComponent(page.url().replace(/\+/g, " "))).toContain("query Me { viewer { id } }");
    const answer = page.waitForResponse((response) => response.request().postData()?.includes('"operationName":"Me"') ?? false);
    await page.getByRole("button", { name: /^Execute query/ }).click();
    expect(await (await answer).json()).toEqual({ data: { viewer: { id: devUserId(GRAPHIQL_DEV_USER) } } });
    await screenshot(page, "graphiql-new-tab.png");
  },
  JOURNEY_TIMEOUT_MS,
);
