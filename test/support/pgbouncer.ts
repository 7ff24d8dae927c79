// A PgBouncer of the test's own in transaction mode (Debian's package,
// /usr/sbin/pgbouncer; `.ci/run` installs it), on a free loopback port that is
// not Supabase's 6543, in front of the machine's PostgreSQL. As root it drops
// to `nobody` (PgBouncer refuses to run as root); its files live in a
// directory of its own, removed with it.
import { spawn, type ChildProcess } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "./serverProcess.ts";

export const PGBOUNCER = "/usr/sbin/pgbouncer";

export interface TestPgBouncer {
  port: number;
  /** `databaseUrl` (on the machine's PostgreSQL) as reached through this PgBouncer. */
  url(databaseUrl: string): string;
  stop(): Promise<void>;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: "127.0.0.1" }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export async function startPgBouncer(target: { host: string; port: number; user: string }): Promise<TestPgBouncer> {
  let port = await freePort();
  while (port === 6543) port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), "pantheon-pgbouncer-"));
  await chmod(dir, 0o777);
  const config = path.join(dir, "pgbouncer.ini");
  await writeFile(
    config,
    [
      "[databases]",
      `* = host=${target.host} port=${target.port} user=${target.user}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = any",
      "pool_mode = transaction",
      "max_client_conn = 500",
      // Fewer server connections than the server's pool has clients: every client's transactions move between them.
      "default_pool_size = 3",
      "ignore_startup_parameters = extra_float_digits,options",
      `logfile = ${path.join(dir, "pgbouncer.log")}`,
      `pidfile = ${path.join(dir, "pgbouncer.pid")}`,
      "",
    ].join("\n"),
  );
  await chmod(config, 0o644);
  const asRoot = process.getuid?.() === 0;
  const child: ChildProcess = spawn(PGBOUNCER, [...(asRoot ? ["-u", "nobody"] : []), config], { stdio: "ignore" });
  for (let attempt = 0; !(await listening(port)); attempt++) {
    if (child.exitCode !== null || attempt > 100) {
      child.kill("SIGKILL");
      throw new Error(`PgBouncer did not start (exit ${child.exitCode}); see ${dir}/pgbouncer.log`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    url(databaseUrl) {
      const url = new URL(databaseUrl);
      url.hostname = "127.0.0.1";
      url.port = String(port);
      return url.toString();
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
