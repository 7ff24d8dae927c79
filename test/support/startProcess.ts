// Runs `npm start` as a newcomer would, in its own process group, and waits
// for the line that announces the GraphQL URL.
import { spawn, type ChildProcess } from "node:child_process";

export interface StartedProcess {
  child: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Collects a child's output and waits until it matches `readyPattern`; rejects if the child exits
 * first or time runs out, and then only once the child has exited, so that the caller may remove
 * what it gave the child (a directory, say).
 */
export async function waitForOutput(child: ChildProcess, readyPattern: RegExp, timeoutMs: number): Promise<{ output(): string; exited: Promise<number | null> }> {
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => {
    // Already gone (it exits before being given here): its 'exit' event has passed.
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once("exit", (code) => resolve(code));
  });
  await new Promise<void>((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      // A process that never became ready is not left behind.
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    const poll = setInterval(() => {
      if (readyPattern.test(output)) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve();
      }
    }, 50);
    void exited.then((code) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(timedOut ? `the process did not become ready:\n${output}` : `the process exited with ${code}:\n${output}`));
    });
  });
  return { output: () => output, exited };
}

/** This process's environment without the app's own settings, so a spawned server gets only the ones given to it. */
export function environmentWithoutAppConfig(): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(DATABASE_|SUPABASE_|OPENROUTER_|APP_ENV|ROLLOUT_STAGE|RATE_LIMIT_|PORT$|LEDGER_BUFFER_DIR$|TURN_LEASE_MS$|EMBEDDED_DATA_DIR$)/.test(key)));
}

export async function startNpm(env: Record<string, string>, readyPattern: RegExp, timeoutMs = 120_000): Promise<StartedProcess> {
  const child = spawn("npm", ["start"], { env: { ...environmentWithoutAppConfig(), ...env }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const { output, exited } = await waitForOutput(child, readyPattern, timeoutMs);
  return {
    child,
    output,
    async stop(signal = "SIGTERM") {
      signalGroup(child.pid!, signal);
      const code = await exited;
      await processGroupGone(child.pid!);
      return code;
    },
  };
}

/**
 * npm exits before the server it started has finished shutting down (the
 * embedded database still writes its files then): wait for the whole process
 * group, and kill what is left after the grace period.
 */
async function processGroupGone(groupId: number, graceMs = 20_000): Promise<void> {
  const deadline = Date.now() + graceMs;
  while (signalGroup(groupId, Date.now() > deadline ? "SIGKILL" : 0)) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** False once no process of the group is left (so stopping twice is harmless). */
function signalGroup(groupId: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-groupId, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw error;
  }
}
