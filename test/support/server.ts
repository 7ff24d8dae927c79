// Starts the real app (runtime + Yoga) on a loopback port against a test
// database, with configuration given as environment variables.
import { mkdtemp, rm } from "node:fs/promises";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { loadConfig } from "../../src/config/env.ts";
import { startRuntime, type Runtime } from "../../src/runtime.ts";
import { createApp, createListener, type App } from "../../src/yoga.ts";
import { createApiServer } from "../../src/http/apiServer.ts";
import { configureLogger } from "../../src/observability/logger.ts";

export interface TestServer {
  url: string;
  graphqlUrl: string;
  runtime: Runtime;
  app: App;
  close(): Promise<void>;
}

export const TEST_JWT_SECRET = "test-only-jwt-secret-0123456789abcdef0123456789";

export async function startTestServer(databaseUrl: string, env: Record<string, string> = {}): Promise<TestServer> {
  // Each server its own ledger buffer, removed with it, unless a test shares one between servers on purpose.
  const ownBufferDir = env.LEDGER_BUFFER_DIR ? null : await mkdtemp(path.join(tmpdir(), "pantheon-ledger-"));
  const config = loadConfig({
    LEDGER_BUFFER_DIR: ownBufferDir ?? "",
    APP_ENV: "test",
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_URL: databaseUrl,
    // The test database is PostgreSQL itself, no pooler between.
    DATABASE_POOL_MODE: "direct",
    DATABASE_POOL_MAX: "5",
    SUPABASE_JWT_SECRET: TEST_JWT_SECRET,
    READINESS_RECHECK_MS: "250",
    LOG_LEVEL: "error",
    PORT: "0",
    ...env,
  });
  configureLogger(config);
  const runtime = await startRuntime(config);
  const app = createApp(runtime);
  const server: Server = createApiServer(createListener(app, runtime), runtime.metrics);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    graphqlUrl: `${url}/graphql`,
    runtime,
    app,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await runtime.close();
      if (ownBufferDir) await rm(ownBufferDir, { recursive: true, force: true });
    },
  };
}
