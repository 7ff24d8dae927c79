// Embedded development database: PGlite (PostgreSQL compiled to wasm) served
// on a loopback port, so Prisma, the CLI and psql all talk real wire protocol
// to it. Used only when no DATABASE_URL is configured outside production.
import fs from "node:fs/promises";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

export async function startEmbeddedDatabase(dataDir: string, port = 0): Promise<EmbeddedDatabase> {
  const absoluteDir = path.resolve(dataDir);
  await fs.mkdir(absoluteDir, { recursive: true });
  const db = await PGlite.create(absoluteDir);
  const host = "127.0.0.1";
  const chosenPort = port || (await freePort(host));
  // PGlite is one session. Its socket server queues every connection's messages
  // and, while one connection is inside a transaction, runs only that one's: so
  // the app's pool (max 1, and a replacement for a broken connection while the
  // old one is torn down), an ops command and a psql can share it. Nobody
  // prepares statements by name on it (db.ts: singleSession).
  const server = new PGLiteSocketServer({ db, host, port: chosenPort, maxConnections: 4 });
  await server.start();
  return {
    url: `postgresql://postgres:postgres@${host}:${chosenPort}/postgres?sslmode=disable`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}

async function freePort(host: string): Promise<number> {
  const net = await import("node:net");
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      probe.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}
