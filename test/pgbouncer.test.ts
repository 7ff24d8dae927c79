// Behind a real transaction pooler (PgBouncer, pool_mode = transaction) on a
// port that is not 6543 and with no flag in the URL, as Neon's pooled hosts,
// Railway's PgBouncer and a self-hosted one look: with DATABASE_POOL_MODE
// unset the server sends only unnamed statements, and sends, reads,
// subscriptions, the credit paths and an ops command all work. Declared
// wrongly direct, the first lost prepared statement is logged once and the
// server serves on unnamed. And nothing relies on a session: no advisory lock
// outlives its transaction, no LISTEN, no SET, no temporary table.
import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { RoomsDocument, SessionMessagesDocument, ViewerSessionsDocument, WalletDocument } from "./generated/graphql.ts";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { dataOf, graphqlClient } from "./support/graphqlClient.ts";
import { startPgBouncer, type TestPgBouncer } from "./support/pgbouncer.ts";
import { streamTurnEvents } from "./support/eventClient.ts";
import { createCouncil, sendAccepted, waitForTurn } from "./fixtures/turns.ts";
import { createTestUser } from "./fixtures/users.ts";

const run = promisify(execFile);
const USERS = 10;
const MESSAGES = 4;

let database: TestDatabase;
let bouncer: TestPgBouncer;
let direct: pg.Pool;

beforeAll(async () => {
  database = await createMigratedDatabase("pgbouncer");
  const target = new URL(database.url);
  bouncer = await startPgBouncer({ host: target.hostname, port: Number(target.port || 5432), user: decodeURIComponent(target.username) || "postgres" });
  direct = new pg.Pool({ connectionString: database.url, max: 2 });
  direct.on("error", () => undefined);
}, 120_000);

afterAll(async () => {
  await direct?.end();
  await bouncer?.stop();
  await database?.drop();
});

/** Users chat (each MESSAGES turns, one SSE stream each), read rooms, sessions and transcripts; returns how many turns completed. */
async function chat(server: TestServer): Promise<{ completed: number; streamed: number }> {
  let completed = 0;
  let streamed = 0;
  await Promise.all(
    Array.from({ length: USERS }, async () => {
      const { token } = await createTestUser();
      const client = graphqlClient(server.graphqlUrl, token);
      const council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"], ["bob", "DEEPSEEK"]]);
      for (let message = 0; message < MESSAGES; message++) {
        const turnId = await sendAccepted(client, council.sessionId, `Message ${message}: how should we launch?`);
        if (message === 0) {
          const { events } = await streamTurnEvents(server.graphqlUrl, token, turnId).done;
          if (events.at(-1)?.__typename === "TurnCompleted") streamed++;
        }
        if ((await waitForTurn(client, turnId)).status === "COMPLETED") completed++;
        expect(dataOf(await client(RoomsDocument, { first: 20 })).rooms.edges.length).toBeGreaterThan(0);
        expect(dataOf(await client(SessionMessagesDocument, { id: council.sessionId, last: 50 })).session!.messages.edges.length).toBe((message + 1) * 3);
        expect(dataOf(await client(ViewerSessionsDocument, { first: 20 })).viewer!.sessions.edges.length).toBe(1);
        expect(dataOf(await client(WalletDocument)).viewer!.wallet.held).toBe("0.0000");
      }
    }),
  );
  return { completed, streamed };
}

describe("behind PgBouncer in transaction mode on a port that is not 6543", () => {
  test("with DATABASE_POOL_MODE unset: every send, read, stream and credit path works; an ops command works through it too", async () => {
    const server = await startTestServer(database.url, {
      DATABASE_POOL_URL: bouncer.url(database.url),
      DATABASE_POOL_MODE: "",
      CREDIT_ENFORCEMENT: "enforce",
      RATE_LIMIT_TURNS_PER_MINUTE: "1000",
      RATE_LIMIT_TURNS_PER_HOUR: "10000",
    });
    try {
      expect(server.runtime.config.database?.poolMode).toBe("transaction");
      expect(server.runtime.statements.named).toBe(false);
      expect(await chat(server)).toEqual({ completed: USERS * MESSAGES, streamed: USERS });
    } finally {
      await server.close();
    }
    const { rows } = await direct.query("SELECT id::text FROM users LIMIT 1");
    const ops = await run("npm", ["run", "--silent", "credits", "--", "grant", "--user", rows[0].id, "--amount", "5", "--key", "pgbouncer-grant-1"], {
      env: { ...process.env, DATABASE_URL: bouncer.url(database.url) },
    });
    expect(ops.stdout).toMatch(/granted 5\.0000/);
  }, 120_000);

  test("declared direct by mistake: the first lost prepared statement is logged once, and the server serves on with unnamed statements, no error to any user", async () => {
    const warnings: string[] = [];
    const server = await startTestServer(database.url, {
      DATABASE_POOL_URL: bouncer.url(database.url),
      DATABASE_POOL_MODE: "direct",
      RATE_LIMIT_TURNS_PER_MINUTE: "1000",
      RATE_LIMIT_TURNS_PER_HOUR: "10000",
      LOG_LEVEL: "warn",
    });
    const { logger } = await import("../src/observability/logger.ts");
    const original = logger.warn.bind(logger);
    logger.warn = ((...args: unknown[]) => {
      warnings.push(args.map(String).join(" "));
      return (original as (...parts: unknown[]) => void)(...args);
    }) as typeof logger.warn;
    try {
      expect(server.runtime.statements.named).toBe(true);
      expect(await chat(server)).toEqual({ completed: USERS * MESSAGES, streamed: USERS });
      expect(server.runtime.statements.named).toBe(false);
      expect(warnings.filter((line) => line.includes("DATABASE_POOL_MODE=transaction"))).toHaveLength(1);
    } finally {
      logger.warn = original;
      await server.close();
    }
  }, 120_000);

  test("no session state: no advisory lock outlives its transaction, and the code sends no LISTEN, SET or temporary table", async () => {
    // This database only: other test files migrate in parallel, and prisma migrate holds a session lock of its own.
    const { rows } = await direct.query(
      "SELECT count(*)::int AS held FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    );
    expect(rows[0].held).toBe(0);
    const offending: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const file = `${dir}/${entry.name}`;
        if (entry.isDirectory()) {
          if (entry.name !== "generated") await walk(file);
        } else if (/\.(ts|sql)$/.test(entry.name)) {
          const text = await readFile(file, "utf8");
          // A statement that starts with SET (not SET LOCAL), LISTEN, a temporary table, a session-level advisory lock.
          for (const pattern of [/\bLISTEN\s+\w/, /\bUNLISTEN\b/, /(^|[`'";])\s*SET\s+(SESSION\s+)?(?!LOCAL\b)\w+\s*(=|TO)\s/im, /\bCREATE\s+(TEMP|TEMPORARY)\s+TABLE\b/i, /pg_advisory_lock\(/, /\bDISCARD\s+ALL\b/]) {
            if (pattern.test(text)) offending.push(`${file}: ${pattern}`);
          }
        }
      }
    };
    await walk("src");
    expect(offending).toEqual([]);
  });
});
