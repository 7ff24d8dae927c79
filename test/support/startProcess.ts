// Runs `npm start` as a newcomer would, in its own process group, and waits
// for the line that announces the GraphQL URL.
import { spawn, type ChildProcess } from "node:child_process";

export interface StartedProcess {
  child: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startNpm(env: Record<string, string>, readyPattern: RegExp, timeoutMs = 120_000): Promise<StartedProcess> {
  const cleanEnv = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(DATABASE_|SUPABASE_|OPENROUTER_|APP_ENV|ROLLOUT_STAGE|PORT$)/.test(key)),
  );
  const child = spawn("npm", ["start"], { env: { ...cleanEnv, ...env }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not become ready:\n${output}`)), timeoutMs);
    const poll = setInterval(() => {
      if (readyPattern.test(output)) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve();
      }
    }, 100);
    void exited.then((code) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code}:\n${output}`));
    });
  });
  return {
    child,
    output: () => output,
    async stop(signal = "SIGTERM") {
      process.kill(-child.pid!, signal);
      return exited;
    },
  };
}
