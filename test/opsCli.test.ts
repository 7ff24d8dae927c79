// The ops commands, run as ops run them: `npm run check`, `rotation`, `allowlist`.
import { execFile, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createEmptyDatabase, migrateDeploy, type TestDatabase } from "./support/database.ts";
import { keyFingerprint } from "../src/gates/keyRotationGate.ts";
import { environmentWithoutAppConfig, waitForOutput } from "./support/startProcess.ts";
import { portBelowEphemeralRange } from "./support/ports.ts";

const run = promisify(execFile);
const SERVICE_ROLE_KEY = "service-role-key-that-must-not-be-printed-0123456789";

let database: TestDatabase;

beforeAll(async () => {
  database = await createEmptyDatabase("ops_cli");
});
afterAll(async () => {
  await database?.drop();
});

async function npmRun(script: string, args: string[] = [], env: Record<string, string> = {}) {
  const result = await run("npm", ["run", "--silent", script, "--", ...args], {
    env: { ...process.env, DATABASE_URL: database.url, SUPABASE_SERVICE_ROLE_KEY: SERVICE_ROLE_KEY, ...env },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, output: error.stdout + error.stderr }),
  );
  expect(result.output).not.toContain(SERVICE_ROLE_KEY);
  return result;
}

describe("ops commands", () => {
  test("check fails on an unmigrated database and says why, then passes after migrate deploy", async () => {
    const before = await npmRun("check");
    expect(before.code).toBe(1);
    expect(before.output).toContain("migrations (Gate A): FAIL");
    expect(before.output).toContain("no migrations applied");

    await migrateDeploy(database.url);
    const after = await npmRun("check");
    expect(after.code).toBe(0);
    expect(after.output).toContain("migrations (Gate A): ok");
    expect(after.output).toContain("routing (Gate B): ok");
  });

  test("check with a broken environment lists the problems and exits non-zero", async () => {
    const result = await npmRun("check", [], { APP_ENV: "production", DATABASE_POOL_URL: "nope" });
    expect(result.code).toBe(1);
    expect(result.output).toContain("DATABASE_POOL_URL must be a URL");
    expect(result.output).toContain("OPENROUTER_API_KEY is required in production");
  });

  test("a broad rollout fails the check until an executed rotation matching the key is recorded", async () => {
    const broad = { ROLLOUT_STAGE: "broad" };
    const closed = await npmRun("check", [], broad);
    expect(closed.code).toBe(1);
    expect(closed.output).toContain("keyRotation (Gate C): FAIL");

    const recorded = await npmRun("rotation", ["executed", "--actor", "ops@pantheon"], broad);
    expect(recorded.code).toBe(0);
    expect((await npmRun("check", [], broad)).code).toBe(0);

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client.query("SELECT kind, fingerprint, actor FROM service_role_key_rotations");
    await client.end();
    expect(rows).toEqual([{ kind: "executed", fingerprint: keyFingerprint(SERVICE_ROLE_KEY), actor: "ops@pantheon" }]);

    const rotatedAgain = await npmRun("check", [], { ...broad, SUPABASE_SERVICE_ROLE_KEY: "a-different-key-now-in-use-9876543210" });
    expect(rotatedAgain.code).toBe(1);
    expect(rotatedAgain.output).toContain("no executed rotation matches the fingerprint");

    // Re-recording the key already recorded is not a rotation: refused, nothing written.
    const again = await npmRun("rotation", ["executed", "--actor", "ops@pantheon"], broad);
    expect(again.code).toBe(2);
    expect(again.output).toContain("was already recorded");
    expect(again.output).toContain("Rotate the key in Supabase");
    const count = new pg.Client({ connectionString: database.url });
    await count.connect();
    expect((await count.query("SELECT count(*)::int AS n FROM service_role_key_rotations")).rows[0]).toEqual({ n: 1 });
    await count.end();
  });

  test.each(["token", "rotation", "allowlist", "admin", "credits", "check"])("npm run %s -- --help prints the usage and exits 0; an unknown option is one line, exit 2", async (command) => {
    const help = await npmRun(command, ["--help"]);
    expect(help.code).toBe(0);
    expect(help.output).toMatch(/^usage: /m);
    const unknown = await npmRun(command, ["--no-such-option"]);
    expect(unknown.code).toBe(2);
    expect(unknown.output).toContain("Unknown option '--no-such-option'");
    expect(unknown.output).not.toMatch(/\bat .*:\d+:\d+/);
  });

  test("npm run token names the option at fault, once, in words", async () => {
    const noUser = await npmRun("token", []);
    expect(noUser.code).toBe(2);
    expect(noUser.output).toContain("--user: required: the development user's name, e.g. --user alice");
    const negative = await npmRun("token", ["--user", "alice", "--hours=-1"]);
    expect(negative.code).toBe(2);
    expect(negative.output.match(/--hours:/g)).toHaveLength(1);
    expect(negative.output).toContain("above 0, at most 720");
    expect(negative.output).not.toContain("Too small");
  });

  test("rotation refuses bad arguments without writing", async () => {
    const result = await npmRun("rotation", ["scheduled", "--actor", "ops", "--due", "2001-01-01"]);
    expect(result.code).toBe(2);
    expect(result.output).toContain("--due: must be in the future");
  });

  test("allowlist add, list and remove, each audited", async () => {
    const userId = randomUUID();
    expect((await npmRun("allowlist", ["add", userId, "--actor", "ops", "--note", "design partner"])).code).toBe(0);
    expect((await npmRun("allowlist", ["list"])).output).toContain(userId);
    expect((await npmRun("allowlist", ["remove", userId, "--actor", "ops"])).code).toBe(0);
    expect((await npmRun("allowlist", ["list"])).output).not.toContain(userId);
    expect((await npmRun("allowlist", ["add", "not-a-uuid", "--actor", "ops"])).code).toBe(2);
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client.query("SELECT action, target, before, after FROM admin_audit_log ORDER BY created_at");
    await client.end();
    expect(rows).toEqual([
      { action: "allowlist.add", target: userId, before: { allowlisted: false }, after: { allowlisted: true } },
      { action: "allowlist.remove", target: userId, before: { allowlisted: true }, after: { allowlisted: false } },
    ]);
  });

  test("credits: read a wallet, grant once per key, adjust, set the plan, override enforcement; admin: suspend and reactivate; each audited as the actor", async () => {
    const userId = randomUUID();
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      await client.query("INSERT INTO users (id) VALUES ($1)", [userId]);
      const wallet = await npmRun("credits", ["wallet", "--user", userId]);
      expect(wallet.code).toBe(0);
      expect(wallet.output).toContain("plan starter");
      expect(wallet.output).toContain("allowance 495.0000  granted 0.0000  held 0.0000  available 495.0000");
      expect((await client.query("SELECT count(*)::int AS n FROM credit_wallets WHERE user_id = $1", [userId])).rows[0].n).toBe(0);

      const grant = ["grant", "--user", userId, "--amount", "100", "--key", "ops-grant-0001", "--note", "goodwill", "--actor", "ops@pantheon"];
      expect((await npmRun("credits", grant)).output).toContain("granted 100.0000");
      expect((await npmRun("credits", grant)).output).toContain("granted 100.0000"); // a retry changes nothing
      const reused = await npmRun("credits", ["grant", "--user", userId, "--amount", "5", "--key", "ops-grant-0001"]);
      expect(reused.code).toBe(2);
      expect(reused.output).toContain("This idempotency key was used for a different grant.");
      expect((await npmRun("credits", ["adjust", "--user", userId, "--amount=-30", "--key", "ops-adjust-0001", "--actor", "ops@pantheon"])).output).toContain("granted 70.0000");
      expect((await npmRun("credits", ["grant", "--user", userId, "--amount=-1", "--key", "ops-grant-0002"])).code).toBe(2);
      expect((await npmRun("credits", ["plan", "--user", userId, "--plan", "pro", "--actor", "ops@pantheon"])).output).toContain("plan pro");
      const history = await npmRun("credits", ["history", "--user", userId]);
      expect(history.output).toMatch(/plan_allowance +1485\.0000/);
      expect(history.output).toContain("4 transaction(s)");
      expect((await npmRun("credits", ["enforcement", "enforce", "--actor", "ops@pantheon"])).code).toBe(0);
      expect((await client.query("SELECT value FROM app_settings WHERE key = 'credit_enforcement'")).rows).toEqual([{ value: { mode: "enforce" } }]);
      expect((await npmRun("credits", ["enforcement", "default", "--actor", "ops@pantheon"])).code).toBe(0);
      expect((await client.query("SELECT value FROM app_settings WHERE key = 'credit_enforcement'")).rows).toEqual([]);
      expect((await npmRun("credits", ["enforcement", "strict"])).code).toBe(2);

      expect((await npmRun("admin", ["suspend", "--user", userId, "--reason", "abuse report", "--actor", "ops@pantheon"])).code).toBe(0);
      expect((await client.query("SELECT suspended_at IS NOT NULL AS suspended FROM users WHERE id = $1", [userId])).rows[0].suspended).toBe(true);
      expect((await npmRun("admin", ["reactivate", "--user", userId, "--actor", "ops@pantheon"])).code).toBe(0);
      expect((await client.query("SELECT suspended_at FROM users WHERE id = $1", [userId])).rows[0].suspended_at).toBeNull();

      const { rows } = await client.query("SELECT actor, action FROM admin_audit_log WHERE actor = 'ops@pantheon' ORDER BY created_at");
      expect(rows.map((row) => row.action)).toEqual(["credits.grant", "credits.adjustment", "credits.setPlan", "credits.setEnforcement", "credits.setEnforcement", "account.suspend", "account.reactivate"]);
      const { rows: initiated } = await client.query("SELECT DISTINCT initiated_by FROM credit_transactions WHERE user_id = $1 AND kind <> 'plan_allowance' OR (user_id = $1 AND amount = 1485)", [userId]);
      expect(initiated).toEqual([{ initiated_by: "ops@pantheon" }]);
    } finally {
      await client.end();
    }
  });
});

describe("npm start with a bad environment", () => {
  test("a malformed DATABASE_URL stops it with the environment contract's one message, before anything is generated or started", async () => {
    const started = Date.now();
    const result = await run("npm", ["start"], { env: { ...process.env, DATABASE_URL: "notaurl", PORT: "0" } }).then(
      () => ({ code: 0, output: "" }),
      (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, output: error.stdout + error.stderr }),
    );
    expect(result.code).toBe(1);
    expect(result.output).toContain("Invalid configuration:");
    expect(result.output).toContain("DATABASE_URL must be a URL");
    expect(result.output).not.toMatch(/prisma|ENOTFOUND|at .*\.ts:\d+/i);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe("the server with an unreachable database", () => {
  test("starts, says so in one line without a stack, answers /readyz 503, and stays up", async () => {
    const port = portBelowEphemeralRange();
    const bufferDir = path.join(os.tmpdir(), `ledger-${randomUUID()}`);
    const child = spawn(process.execPath, ["--import", "tsx", "src/server.ts"], {
      env: { ...environmentWithoutAppConfig(), APP_ENV: "test", PORT: String(port), DATABASE_URL: "postgresql://postgres@127.0.0.1:9/unreachable", LEDGER_BUFFER_DIR: bufferDir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    try {
      const { output } = await waitForOutput(child, /Migration gate: not ready/, 30_000);
      expect(output()).toContain("Migration gate: not ready: check failed: database unreachable (ECONNREFUSED)");
      expect(output()).not.toMatch(/\bat .*:\d+:\d+/);
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(503);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill("SIGKILL");
      // Killed, the server leaves its (empty) disk-buffer segment behind.
      await exited;
      rmSync(bufferDir, { recursive: true, force: true });
    }
  });
});
