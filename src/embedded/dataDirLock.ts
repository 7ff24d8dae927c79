// One process at a time on an embedded data folder: PGlite keeps the database
// in the process that opened it, so a second process on the same folder would
// see only its own writes and overwrite the first's. The lock is a Unix socket
// the holder listens on: the operating system closes it when the holder dies,
// so a crash never leaves the folder locked (a socket file nobody listens on
// is stale and taken over). Whoever connects to it learns who holds the folder
// and, from a running server, the embedded database's URL: that is how the ops
// commands reach it.
import { createHash } from "node:crypto";
import { unlink } from "node:fs/promises";
import { createConnection, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { z } from "zod";

/** What the holder tells whoever connects. */
const holderSchema = z.object({ pid: z.number().int(), role: z.enum(["server", "command"]), url: z.string().nullable() });
export type DataDirHolder = z.infer<typeof holderSchema>;

export class DataDirLocked extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: DataDirHolder,
  ) {
    super(
      holder.role === "server"
        ? `Another Pantheon server (pid ${holder.pid}) is using the embedded database in ${dataDir}: stop it first, or set EMBEDDED_DATA_DIR to another folder.`
        : `An ops command (pid ${holder.pid}) is using the embedded database in ${dataDir}: wait for it to finish.`,
    );
    this.name = "DataDirLocked";
  }
}

export interface DataDirLock {
  /** Tells later callers where the embedded database listens (a server, once it is up). */
  announce(url: string): void;
  release(): Promise<void>;
}

/** The lock's socket for a data folder: in the temporary directory (a Unix socket path must stay short), named by the folder's absolute path. */
export function lockPath(dataDir: string): string {
  const digest = createHash("sha256").update(path.resolve(dataDir)).digest("hex").slice(0, 16);
  return path.join(tmpdir(), `pantheon-pglite-${digest}.sock`);
}

/** Who holds the folder's lock, or null when nobody does (no socket, or one its holder left behind when it died). */
export function lockHolder(dataDir: string): Promise<DataDirHolder | null> {
  return new Promise((resolve) => {
    let answer = "";
    const socket = createConnection(lockPath(dataDir));
    socket.setEncoding("utf8");
    socket.on("data", (chunk) => (answer += chunk));
    socket.on("end", () => {
      const parsed = holderSchema.safeParse(safeJson(answer));
      resolve(parsed.success ? parsed.data : null);
    });
    socket.on("error", () => resolve(null));
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function listen(server: Server, socketPath: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => (error.code === "EADDRINUSE" ? resolve(false) : reject(error));
    server.once("error", onError);
    server.listen(socketPath, () => {
      server.off("error", onError);
      resolve(true);
    });
  });
}

/** Takes the folder's lock, or throws DataDirLocked naming who holds it. */
export async function lockDataDir(dataDir: string, role: DataDirHolder["role"]): Promise<DataDirLock> {
  const socketPath = lockPath(dataDir);
  const holder: DataDirHolder = { pid: process.pid, role, url: null };
  const server = createServer((socket) => socket.end(JSON.stringify(holder)));
  for (let attempt = 0; !(await listen(server, socketPath)); attempt++) {
    const current = await lockHolder(dataDir);
    if (current) throw new DataDirLocked(dataDir, current);
    // Nobody listens: its holder died. Take it over (once; a second miss means someone else just took it).
    if (attempt > 0) throw new DataDirLocked(dataDir, { pid: 0, role: "server", url: null });
    await unlink(socketPath).catch(() => undefined);
  }
  server.unref();
  return {
    announce(url) {
      holder.url = url;
    },
    release: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
