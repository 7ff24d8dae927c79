// A test server whose OpenRouter is a loopback fake following a fresh council
// script per test: the setup the turn-engine test files share.
import { afterAll, beforeAll, beforeEach } from "vitest";
import { createMigratedDatabase, type TestDatabase } from "./database.ts";
import { startTestServer, type TestServer } from "./server.ts";
import { graphqlClient, type GraphQLClient } from "./graphqlClient.ts";
import { startFakeOpenRouter, type FakeOpenRouter } from "./fakeOpenRouter.ts";
import { councilHandler, newScript, type CouncilScript } from "./councilProvider.ts";
import { createTestUser } from "../fixtures/users.ts";

export interface CouncilServer {
  database: TestDatabase;
  server: TestServer;
  fake: FakeOpenRouter;
  client: GraphQLClient;
  script: CouncilScript;
}

export function useCouncilServer(label: string, env: Record<string, string> = {}): CouncilServer {
  const council = {} as CouncilServer;
  beforeAll(async () => {
    council.database = await createMigratedDatabase(label);
    council.fake = await startFakeOpenRouter(() => ({ kind: "hang" }));
    council.server = await startTestServer(council.database.url, {
      OPENROUTER_API_KEY: "sk-or-test-fake",
      OPENROUTER_BASE_URL: council.fake.baseUrl,
      RATE_LIMIT_TURNS_PER_MINUTE: "1000",
      RATE_LIMIT_TURNS_PER_HOUR: "10000",
      ...env,
    });
    council.client = graphqlClient(council.server.graphqlUrl, (await createTestUser()).token);
  });
  afterAll(async () => {
    await council.server?.close();
    await council.fake?.close();
    await council.database?.drop();
  });
  beforeEach(() => {
    council.script = newScript();
    council.fake.setHandler(councilHandler(council.script));
  });
  return council;
}
