// The example client (examples/conversation.ts) run as a frontend developer runs it, against
// `npm start` on the embedded default: it creates a council, sends a message, streams both agents'
// answers with each step's cost, drops its connection once on purpose and resumes it with
// afterSequence, and prints the turn's total.
import { spawn } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { environmentWithoutAppConfig, startNpm, type StartedProcess } from "./support/startProcess.ts";
import { loadConfig } from "../src/config/env.ts";
import { signDevToken } from "../src/auth/devToken.ts";
import { portBelowEphemeralRange } from "./support/ports.ts";

const PORT = String(portBelowEphemeralRange());
const graphqlUrl = `http://127.0.0.1:${PORT}/graphql`;
let dataDir: string;
let server: StartedProcess | null = null;

/** Runs the example to its end; its combined output and exit code. */
async function runExample(args: string[], timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // Without the app's settings or PANTHEON_*: the example gets only what its arguments say.
  const env = Object.fromEntries(Object.entries(environmentWithoutAppConfig()).filter(([key]) => !key.startsWith("PANTHEON_")));
  const child = spawn("npx", ["tsx", "examples/conversation.ts", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => (stdout += chunk));
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

beforeAll(async () => {
  await fs.mkdir("test-artifacts", { recursive: true });
  dataDir = await fs.mkdtemp(path.resolve("test-artifacts", "example-client-"));
  // The embedded default, as a newcomer starts it: development, so the offline provider streams a word every 40 ms.
  server = await startNpm({ PORT, DATABASE_URL: "", EMBEDDED_DATA_DIR: dataDir, LEDGER_BUFFER_DIR: path.join(dataDir, "ledger-buffer") }, /Migration gate: ready/, 180_000);
}, 200_000);

afterAll(async () => {
  await server?.stop().catch(() => undefined);
  await fs.rm(dataDir, { recursive: true, force: true });
});

describe("the example client", () => {
  test("creates a council, streams both agents with each step's cost, drops and resumes the stream, and ends with the turn's total", async () => {
    const token = await signDevToken(loadConfig({}), { user: "example-client", ttlSeconds: 600 });
    const { code, stdout, stderr } = await runExample(["--url", graphqlUrl, "--token", token]);
    const output = `${stdout}${stderr}`;
    expect(code, output).toBe(0);

    // The council, with random suffixes.
    const ada = /agent (ada_[0-9a-f]{6}) \(Ada, QWEN\)/.exec(stdout)?.[1];
    const bob = /agent (bob_[0-9a-f]{6}) \(Bob, DEEPSEEK\)/.exec(stdout)?.[1];
    expect(ada, output).toBeDefined();
    expect(bob, output).toBeDefined();
    expect(stdout).toContain(`assigned: ${ada}, ${bob}`);
    expect(stdout).toMatch(/turn [0-9a-f-]{36} is RUNNING \(ROUNDTABLE\)/);

    // Both agents' text as it streamed (the offline provider's reply starts with its model and a digest, then the question).
    const reply = (model: string) => String.raw`\[${model} [0-9a-f]{8}\] On "How should we launch\?": `;
    expect(stdout).toMatch(new RegExp(`  ${ada} › \\[qwen [0-9a-f]{8}\\] `, "i"));
    expect(stdout).toMatch(new RegExp(`  ${bob} › ${reply("deepseek")}\\S`, "i"));

    // Each step's cost as it completed.
    const credits = String.raw`\d+(?:\.\d+)?`;
    expect(stdout).toMatch(new RegExp(`✓ ${ada} done, cost ${credits} credits \\(1 call, \\d+ tokens`));
    expect(stdout).toMatch(new RegExp(`✓ ${bob} done, cost ${credits} credits \\(1 call, \\d+ tokens`));

    // The deliberate drop after the first deltas (ada's), the resume from the last sequence seen, and
    // ada's whole output from StepCompleted (the words streamed while away are not replayed).
    const dropped = /dropping the connection on purpose after 3 deltas \(last sequence (\d+)\)/.exec(stdout);
    expect(dropped, output).not.toBeNull();
    expect(stdout).toContain(`resuming with afterSequence ${dropped![1]}`);
    expect(stdout.indexOf("resuming with afterSequence")).toBeGreaterThan(dropped!.index);
    expect(stdout).toMatch(new RegExp(`${ada}'s final output is complete \\(\\d+ characters streamed while we were away\\): ${reply("qwen")}\\S`, "i"));
    expect(stdout.match(/dropping the connection/g)).toHaveLength(1);
    expect(stdout).not.toContain("connection lost");

    // The turn's end, with its total.
    expect(stdout).toMatch(new RegExp(`Turn COMPLETED \\(stopReason DONE\\): total ${credits} credits \\(2 calls, \\d+ tokens`));
    expect(stderr).not.toContain("Failed");
  }, 150_000);

  test("without a token it exits 1 and says how to get one", async () => {
    const { code, stderr } = await runExample(["--url", graphqlUrl]);
    expect(code).toBe(1);
    expect(stderr).toContain("npm run token -- --user alice");
  }, 60_000);
});
