// Deployment as code, run as a deploy runs it, in a clean copy of the working tree (what a
// commit holds, no node_modules): railway.json's build, pre-deploy and start commands, and
// the Dockerfile, linted and its stages replayed on the host (no Docker engine or base image
// can be had here, so the image itself is never built).
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createEmptyDatabase, type TestDatabase } from "./support/database.ts";
import { environmentWithoutAppConfig, waitForOutput } from "./support/startProcess.ts";
import { TEST_JWT_SECRET } from "./support/server.ts";
import { freePort } from "./support/serverProcess.ts";

const run = promisify(execFile);
type Env = Record<string, string | undefined>;

const COMMAND_TIMEOUT_MS = 120_000;
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;
const OUTPUT_LIMIT_BYTES = 64 * 1024 * 1024;
/** Railpack's install step for an npm project with a lockfile (railpack core/providers/node). */
const RAILPACK_INSTALL = "npm ci";
/** The variables Railpack sets for a Node build and deployment. */
const RAILPACK_ENV = { NODE_ENV: "production", NPM_CONFIG_PRODUCTION: "false", CI: "true" };
/** Installs come from the local npm cache when it has the package (CI's own `npm ci` filled it). */
const NPM_ENV = { npm_config_prefer_offline: "true", npm_config_audit: "false", npm_config_fund: "false" };
/** dockerfile-utils: the Dockerfile parser and validator behind VS Code's Docker support; offline, pure JS. */
const DOCKERFILE_VALIDATOR = "dockerfile-utils@0.16.3";
const SECRET_NAME = /KEY|SECRET|TOKEN|PASSWORD|DATABASE_(POOL_)?URL/i;

interface RailwayConfig {
  build: { builder: string; buildCommand: string };
  deploy: { preDeployCommand: string | string[]; startCommand: string; healthcheckPath: string; healthcheckTimeout: number; restartPolicyType: string; restartPolicyMaxRetries: number };
}

let root: string;
let context: string;
const databases: TestDatabase[] = [];
const packageJson = JSON.parse(await readFile("package.json", "utf8")) as { scripts: Record<string, string> };
const railway = JSON.parse(await readFile("railway.json", "utf8")) as RailwayConfig;

/** This process's environment without the app's settings, plus `env`. */
function cleanEnv(env: Env): Env {
  return { ...environmentWithoutAppConfig(), ...NPM_ENV, ...env };
}

/** A command line run without a shell: shell syntax is refused, so splitting on blanks is exact. */
function argv(command: string): [string, ...string[]] {
  expect(command, `"${command}" would need a shell`).not.toMatch(/[$&|;<>()`'"\\*?~]/);
  return command.trim().split(/\s+/) as [string, ...string[]];
}

async function runCommand(command: string, cwd: string, env: Env): Promise<void> {
  const [file, ...args] = argv(command);
  await run(file, args, { cwd, env: cleanEnv(env), timeout: COMMAND_TIMEOUT_MS, maxBuffer: OUTPUT_LIMIT_BYTES });
}

/** Tracked files and untracked ones that are not ignored, as they are in the working tree. */
async function copyWorkingTree(into: string): Promise<void> {
  const { stdout } = await run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { maxBuffer: OUTPUT_LIMIT_BYTES });
  for (const file of new Set(stdout.split("\0").filter(Boolean))) {
    if (!existsSync(file)) continue; // deleted in the working tree: not in the next commit
    await mkdir(path.dirname(path.join(into, file)), { recursive: true });
    await cp(file, path.join(into, file));
  }
}


async function emptyDatabase(): Promise<TestDatabase> {
  const database = await createEmptyDatabase("deploy");
  databases.push(database);
  return database;
}

/** The environment a deployed server gets here: a fresh database, a port, and its own ledger buffer. */
function serverEnv(database: TestDatabase, port: number, label: string): Env {
  return {
    PORT: String(port),
    DATABASE_URL: database.url,
    DATABASE_POOL_URL: database.url,
    APP_ENV: "test",
    SUPABASE_JWT_SECRET: TEST_JWT_SECRET,
    LEDGER_BUFFER_DIR: path.join(root, `${label}-ledger-buffer`),
  };
}

/** Starts the server, waits for the migration gate, probes `healthcheckPath`, stops it with SIGTERM. */
async function startAndProbe(command: string[], cwd: string, env: Env): Promise<{ health: number; exitCode: number | null }> {
  const [file, ...args] = command as [string, ...string[]];
  const child = spawn(file, args, { cwd, env: cleanEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  try {
    const { exited } = await waitForOutput(child, /Migration gate: ready/, START_TIMEOUT_MS);
    const health = (await fetch(`http://127.0.0.1:${env.PORT}${railway.deploy.healthcheckPath}`)).status;
    child.kill("SIGTERM");
    const exitCode = await Promise.race([exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no exit after SIGTERM")), STOP_TIMEOUT_MS))]);
    return { health, exitCode };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "pantheon-deploy-"));
  context = path.join(root, "context");
  await copyWorkingTree(context);
});

afterAll(async () => {
  for (const database of databases) await database.drop();
  if (root) await rm(root, { recursive: true, force: true });
});

describe("railway.json", () => {
  test("Railpack's install, the build command, the pre-deploy command on an empty database, then the start command passes its healthcheck", async () => {
    const { build, deploy } = railway;
    expect(build.builder).toBe("RAILPACK");
    // A second `npm ci` in the build step fails on Railpack's node_modules/.cache mount (railpack#255).
    expect(build.buildCommand).not.toMatch(/\bnpm (ci|install|i)\b/);
    expect(deploy.startCommand).toBe(packageJson.scripts.start);
    expect(deploy).toMatchObject({ healthcheckPath: "/readyz", restartPolicyType: "ON_FAILURE" });
    expect(deploy.healthcheckTimeout).toBeGreaterThan(0);
    expect(deploy.restartPolicyMaxRetries).toBeGreaterThan(0);

    const app = path.join(root, "railpack");
    await cp(context, app, { recursive: true });
    await runCommand(RAILPACK_INSTALL, app, RAILPACK_ENV);
    await runCommand(build.buildCommand, app, RAILPACK_ENV);
    const database = await emptyDatabase();
    for (const command of [deploy.preDeployCommand].flat()) await runCommand(command, app, { ...RAILPACK_ENV, DATABASE_URL: database.url });

    const env = { ...RAILPACK_ENV, ...serverEnv(database, await freePort(), "railpack") };
    expect(await startAndProbe(argv(deploy.startCommand), app, env)).toEqual({ health: 200, exitCode: 0 });
  }, 170_000);
});

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  image: string;
  name: string;
  instructions: Instruction[];
}

function parseDockerfile(text: string): Stage[] {
  const lines = text.split("\n").filter((line) => !line.trim().startsWith("#"));
  const logical = lines.join("\n").replace(/\\\n/g, " ").split("\n").map((line) => line.trim()).filter(Boolean);
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, keyword = "", args = ""] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const from = keyword.toUpperCase() === "FROM" ? /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args) : null;
    if (from) stages.push({ image: from[1]!, name: from[2] ?? `stage-${stages.length}`, instructions: [] });
    else stages.at(-1)!.instructions.push({ keyword: keyword.toUpperCase(), args });
  }
  return stages;
}

const argsOf = (stage: Stage, keyword: string) => stage.instructions.filter((instruction) => instruction.keyword === keyword).map((instruction) => instruction.args);

/** `ENV A=1 B=2` as pairs (values here have no spaces or quotes). */
function envOf(stage: Stage): Record<string, string> {
  const pairs = argsOf(stage, "ENV").flatMap((args) => args.split(/\s+/)).map((pair) => pair.split("=") as [string, string]);
  return Object.fromEntries(pairs);
}

/** The rules a Dockerfile linter (hadolint's DL3xxx family) and this deployment need, checked on the parsed file. */
function lintRules(stages: Stage[], nvmrc: string, dockerignore: string[]): void {
  const runtime = stages.at(-1)!;
  expect(stages.length, "multi-stage").toBeGreaterThanOrEqual(2);
  for (const stage of stages) {
    expect(stage.image, "base image pinned to a version tag").toMatch(/^[\w./-]+:(?!latest$)[\w.-]+$/);
    expect(stage.image, "every stage on one base image").toBe(runtime.image);
    expect(argsOf(stage, "ADD"), "COPY, not ADD").toEqual([]);
    expect(argsOf(stage, "WORKDIR").every((dir) => dir.startsWith("/")), "absolute WORKDIR").toBe(true);
    for (const name of [...Object.keys(envOf(stage)), ...argsOf(stage, "ARG")]) expect(name, "no secret baked into the image").not.toMatch(SECRET_NAME);
  }
  expect(runtime.image.split(":")[1], "the Node version of .nvmrc").toMatch(new RegExp(`^${nvmrc.replaceAll(".", "\\.")}-`));
  expect(argsOf(runtime, "RUN").some((run) => /\bnpm ci\b.*--omit=dev/.test(run)), "production dependencies only").toBe(true);
  expect(argsOf(runtime, "VOLUME"), "no VOLUME (Railway rejects it)").toEqual([]);
  expect(argsOf(runtime, "EXPOSE")).toEqual(["4000"]);

  const keywords = runtime.instructions.map((instruction) => instruction.keyword);
  const user = argsOf(runtime, "USER").at(-1);
  expect(user, "runs as a non-root user").toMatch(/^(?!root$|0$)\w+$/);
  expect(keywords.lastIndexOf("USER"), "USER before CMD").toBeLessThan(keywords.lastIndexOf("CMD"));
  const cmd = argsOf(runtime, "CMD").at(-1) ?? "";
  expect(cmd, "exec-form CMD (node is PID 1 and gets SIGTERM)").toMatch(/^\[.*\]$/);
  expect(JSON.parse(cmd), "the command line of npm start").toEqual(argv(packageJson.scripts.start!));

  const env = envOf(runtime);
  expect(env.NODE_ENV).toBe("production");
  expect(env.LEDGER_BUFFER_DIR, "the ledger buffer on a mountable path").toMatch(/^\//);
  const chowned = argsOf(runtime, "RUN").flatMap((run) => [...run.matchAll(new RegExp(`chown -R ${user}:${user} (\\S+)`, "g"))].map((match) => match[1]!));
  for (const dir of [env.LEDGER_BUFFER_DIR!, env.EMBEDDED_DATA_DIR ?? env.LEDGER_BUFFER_DIR!]) {
    expect(chowned.some((owned) => dir.startsWith(`${owned}/`) || dir === owned), `${dir} writable by ${user}`).toBe(true);
  }
  expect(dockerignore).toEqual(expect.arrayContaining(["node_modules", ".data", "test-artifacts", ".git", "*.log", ".env", "src/generated"]));
}

/** `COPY [--from=stage] [--chown=…] sources… dest`, relative to the stage's WORKDIR, on the host. */
async function replayCopy(args: string, dirs: Map<string, { dir: string; workdir: string }>, dir: string, workdir: string): Promise<void> {
  const words = args.split(/\s+/);
  const from = words.find((word) => word.startsWith("--from="))?.slice("--from=".length);
  const [dest, ...sources] = words.filter((word) => !word.startsWith("--")).reverse() as [string, ...string[]];
  const source = from ? dirs.get(from)! : { dir: context, workdir: "/" };
  for (const item of sources.reverse()) {
    const sourcePath = path.join(source.dir, path.relative(source.workdir, path.resolve(source.workdir, item)));
    const target = path.join(dir, path.relative(workdir, path.resolve(workdir, dest)));
    await cp(sourcePath, dest.endsWith("/") ? path.join(target, path.basename(item)) : target, { recursive: true });
  }
}

/**
 * Replays each stage in its own directory: WORKDIR, ENV and COPY as Docker would, and the npm
 * commands of RUN (the only ones that build anything; the others set up the image's file system
 * and are checked by the rules instead). Returns the last stage's directory and ENV.
 */
async function replayStages(stages: Stage[]): Promise<{ dir: string; env: Record<string, string> }> {
  const dirs = new Map<string, { dir: string; workdir: string }>();
  let last = { dir: "", env: {} as Record<string, string> };
  for (const stage of stages) {
    const dir = path.join(root, `image-${stage.name}`);
    let workdir = "/";
    const env: Record<string, string> = {};
    await mkdir(dir, { recursive: true });
    for (const { keyword, args } of stage.instructions) {
      if (keyword === "WORKDIR") workdir = args;
      if (keyword === "ENV") Object.assign(env, envOf({ ...stage, instructions: [{ keyword, args }] }));
      if (keyword === "COPY") await replayCopy(args, dirs, dir, workdir);
      if (keyword === "RUN") {
        for (const part of args.split("&&").map((command) => command.trim())) {
          if (/^npm (ci|run)\b/.test(part)) await runCommand(part, dir, env);
        }
      }
    }
    dirs.set(stage.name, { dir, workdir });
    last = { dir, env };
  }
  return last;
}

describe("Dockerfile", () => {
  test("passes the validator and the image rules; its stages, replayed, migrate an empty database and pass the healthcheck", async () => {
    const stages = parseDockerfile(await readFile("Dockerfile", "utf8"));
    const nvmrc = (await readFile(".nvmrc", "utf8")).trim();
    const dockerignore = (await readFile(".dockerignore", "utf8")).split("\n").map((line) => line.trim()).filter(Boolean);
    expect(nvmrc.split(".").slice(0, 2), ".nvmrc names the Node line the machines run").toEqual(process.versions.node.split(".").slice(0, 2));
    lintRules(stages, nvmrc, dockerignore);
    // Silent and exit code 0 when the file is valid; otherwise it prints each problem on stdout.
    const validator = await run("npx", ["--yes", DOCKERFILE_VALIDATOR, "lint", "Dockerfile"], { env: cleanEnv({}), timeout: COMMAND_TIMEOUT_MS }).catch((error: { stdout?: string; stderr?: string }) => ({ stdout: error.stdout ?? String(error), stderr: error.stderr ?? "" }));
    expect(validator.stdout + validator.stderr, DOCKERFILE_VALIDATOR).toBe("");

    const image = await replayStages(stages);
    // On Railway the pre-deploy command runs in the built image too.
    const database = await emptyDatabase();
    for (const command of [railway.deploy.preDeployCommand].flat()) await runCommand(command, image.dir, { ...image.env, DATABASE_URL: database.url });
    const cmd = JSON.parse(argsOf(stages.at(-1)!, "CMD").at(-1)!) as string[];
    const env = { ...image.env, ...serverEnv(database, await freePort(), "image") };
    expect(await startAndProbe(cmd, image.dir, env)).toEqual({ health: 200, exitCode: 0 });
  }, 170_000);
});
