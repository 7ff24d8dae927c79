// Gate C over HTTP: who gets in at each rollout stage, and a broad rollout
// that stays closed until a service-role key rotation is recorded.
import { randomUUID } from "node:crypto";
import { beforeEach, describe, expect, test } from "vitest";
import { useMigratedDatabase } from "./support/database.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { dataOf, errorCodes, graphqlClient } from "./support/graphqlClient.ts";
import { RoomsDocument, SystemStatusDocument } from "./generated/graphql.ts";
import { devUserId, signDevToken } from "../src/auth/devToken.ts";
import { keyFingerprint } from "../src/gates/keyRotationGate.ts";

const SERVICE_ROLE_KEY = "rotated-service-role-key-0123456789abcdef";
const connected = useMigratedDatabase("rollout");

async function withServer(stage: string, run: (server: TestServer) => Promise<void>) {
  const server = await startTestServer(connected.database.url, { ROLLOUT_STAGE: stage, SUPABASE_SERVICE_ROLE_KEY: SERVICE_ROLE_KEY });
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

async function clientFor(server: TestServer, user: string) {
  return graphqlClient(server.graphqlUrl, await signDevToken(server.runtime.config, { user, ttlSeconds: 600 }));
}

const allowlist = (user: string) => connected.client.query("INSERT INTO beta_allowlist (user_id, added_by) VALUES ($1, 'test')", [devUserId(user)]);
const recordRotation = (kind: string, fingerprint: string | null, dueAt: Date | null) =>
  connected.client.query(
    "INSERT INTO service_role_key_rotations (id, kind, fingerprint, due_at, executed_at, actor) VALUES ($1, $2, $3, $4, $5, 'ops')",
    [randomUUID(), kind, fingerprint, dueAt, kind === "executed" ? new Date() : null],
  );

beforeEach(async () => {
  await connected.client.query("TRUNCATE beta_allowlist, service_role_key_rotations");
});

describe("closed_beta", () => {
  test("an allow-listed user gets in; anyone else is FORBIDDEN; no token is UNAUTHENTICATED", async () => {
    await allowlist("beta-tester");
    await withServer("closed_beta", async (server) => {
      const insider = await clientFor(server, "beta-tester");
      expect(dataOf(await insider(RoomsDocument, { first: 1 })).rooms.edges).toEqual([]);
      const outsider = await clientFor(server, "stranger");
      expect(errorCodes(await outsider(RoomsDocument, { first: 1 }))).toEqual(["FORBIDDEN"]);
      expect(errorCodes(await graphqlClient(server.graphqlUrl)(RoomsDocument, { first: 1 }))).toEqual(["UNAUTHENTICATED"]);
    });
  });

  test("admins get in without being allow-listed", async () => {
    await connected.client.query("INSERT INTO users (id, admin_role) VALUES ($1, 'analyst') ON CONFLICT (id) DO UPDATE SET admin_role = 'analyst'", [
      devUserId("analyst-ann"),
    ]);
    await withServer("closed_beta", async (server) => {
      expect(errorCodes(await (await clientFor(server, "analyst-ann"))(RoomsDocument, { first: 1 }))).toEqual([]);
    });
  });
});

describe("broad", () => {
  test("without a recorded rotation the server stays closed and says why", async () => {
    await withServer("broad", async (server) => {
      const outsider = await clientFor(server, "stranger");
      expect(errorCodes(await outsider(RoomsDocument, { first: 1 }))).toEqual(["FORBIDDEN"]);
      const status = dataOf(await outsider(SystemStatusDocument)).systemStatus;
      expect(status.rolloutStage).toBe("CLOSED_BETA");
      expect(status.ready).toBe(false);
      expect(status.gates.find((gate) => gate.gate === "keyRotation")).toMatchObject({
        ok: false,
        required: true,
        reasons: [expect.stringContaining("no service-role key rotation is recorded")],
      });
      expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    });
  });

  test("after an executed rotation matching the key in use, anyone authenticated gets in", async () => {
    await withServer("broad", async (server) => {
      await recordRotation("executed", keyFingerprint(SERVICE_ROLE_KEY), null);
      await server.runtime.readiness.recheck();
      const outsider = await clientFor(server, "stranger-2");
      expect(errorCodes(await outsider(RoomsDocument, { first: 1 }))).toEqual([]);
      expect(dataOf(await outsider(SystemStatusDocument)).systemStatus).toMatchObject({ ready: true, rolloutStage: "BROAD" });
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    });
  });

  test("an executed rotation of a different key does not count", async () => {
    await recordRotation("executed", keyFingerprint("the-previous-key-0123456789"), null);
    await withServer("broad", async (server) => {
      expect(errorCodes(await (await clientFor(server, "stranger-3"))(RoomsDocument, { first: 1 }))).toEqual(["FORBIDDEN"]);
    });
  });

  test("a scheduled rotation counts until its due date, and no longer once it has passed", async () => {
    await recordRotation("scheduled", null, new Date(Date.now() + 86_400_000));
    await withServer("broad", async (server) => {
      expect(errorCodes(await (await clientFor(server, "stranger-4"))(RoomsDocument, { first: 1 }))).toEqual([]);
    });
    await connected.client.query("TRUNCATE service_role_key_rotations");
    await recordRotation("scheduled", null, new Date(Date.now() - 60_000));
    await withServer("broad", async (server) => {
      expect(errorCodes(await (await clientFor(server, "stranger-5"))(RoomsDocument, { first: 1 }))).toEqual(["FORBIDDEN"]);
      const status = dataOf(await (await clientFor(server, "stranger-5"))(SystemStatusDocument)).systemStatus;
      expect(status.gates.find((gate) => gate.gate === "keyRotation")?.reasons.join(" ")).toMatch(/was due at .* and has passed/);
    });
  });
});
