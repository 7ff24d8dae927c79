// Authentication over real HTTP: Supabase-shaped HS256 and JWKS tokens, what
// is refused (and that nothing is written then), admission, Gate A, dev tokens.
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CreateRoomDocument, RoomsDocument, ViewerDocument } from "./generated/graphql.ts";
import { createEmptyDatabase, createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { startTestServer, TEST_JWT_SECRET, type TestServer } from "./support/server.ts";
import { dataOf, errorCodes, graphqlClient } from "./support/graphqlClient.ts";
import { createTestUser, signTestToken } from "./fixtures/users.ts";
import { DEV_ONLY_JWT_SECRET } from "../src/auth/devSecret.ts";
import { devUserId } from "../src/auth/devToken.ts";
import { TokenVerifier } from "../src/auth/tokens.ts";
import { loadConfig } from "../src/config/env.ts";

const run = promisify(execFile);
let database: TestDatabase;
let server: TestServer;
let sql: pg.Client;

beforeAll(async () => {
  database = await createMigratedDatabase("auth");
  server = await startTestServer(database.url);
  sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
});
afterAll(async () => {
  await sql?.end();
  await server?.close();
  await database?.drop();
});

const userCount = async () => Number((await sql.query("SELECT count(*) FROM users")).rows[0].count);

describe("HS256 tokens", () => {
  test("without a token: viewer is null, protected fields are UNAUTHENTICATED", async () => {
    const anonymous = graphqlClient(server.graphqlUrl);
    expect(dataOf(await anonymous(ViewerDocument)).viewer).toBeNull();
    expect(errorCodes(await anonymous(RoomsDocument, { first: 1 }))).toEqual(["UNAUTHENTICATED"]);
    const mutation = await anonymous(CreateRoomDocument, { input: { name: "x" } });
    expect(errorCodes(mutation)).toEqual(["UNAUTHENTICATED"]);
    expect(mutation.data).toBeNull();
  });

  test("the first authenticated request creates the user, once", async () => {
    const user = await createTestUser();
    const client = graphqlClient(server.graphqlUrl, user.token);
    expect(dataOf(await client(ViewerDocument)).viewer).toEqual({ id: user.id, adminRole: null, admitted: true });
    await client(RoomsDocument, { first: 1 });
    const rows = await sql.query("SELECT id, email FROM users WHERE id = $1", [user.id]);
    expect(rows.rows).toEqual([{ id: user.id, email: "user@example.test" }]);
  });

  test("an admin's role comes from the users row", async () => {
    const user = await createTestUser();
    await sql.query("INSERT INTO users (id, admin_role) VALUES ($1, 'owner')", [user.id]);
    expect(dataOf(await graphqlClient(server.graphqlUrl, user.token)(ViewerDocument)).viewer).toEqual({ id: user.id, adminRole: "OWNER", admitted: true });
  });

  const noneAlgorithm = () => {
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const now = Math.floor(Date.now() / 1000);
    return `${encode({ alg: "none", typ: "JWT" })}.${encode({ sub: crypto.randomUUID(), aud: "authenticated", exp: now + 60 })}.`;
  };

  test.each([
    ["a wrong signature", () => signTestToken({ secret: "another-secret-another-secret-another-secret" })],
    ["an expired token", () => signTestToken({ expiresInSeconds: -120 })],
    ["a wrong audience", () => signTestToken({ audience: "anon" })],
    ["a non-UUID subject", () => signTestToken({ sub: "alice" })],
    ["alg none", async () => noneAlgorithm()],
    ["garbage", async () => "not.a.jwt"],
    ["the development secret on a server with its own secret", () => signTestToken({ secret: DEV_ONLY_JWT_SECRET })],
  ])("%s is UNAUTHENTICATED (401) and writes nothing", async (_label, makeToken) => {
    const before = await userCount();
    const response = await graphqlClient(server.graphqlUrl, await makeToken())(ViewerDocument);
    expect(response.status).toBe(401);
    expect(errorCodes(response)).toEqual(["UNAUTHENTICATED"]);
    expect(response.data ?? null).toBeNull();
    expect(await userCount()).toBe(before);
  });

  test("an expired token says it expired and when, and nothing else refused does", async () => {
    const expired = await graphqlClient(server.graphqlUrl, await signTestToken({ expiresInSeconds: -120 }))(ViewerDocument);
    expect(expired.errors?.[0]?.message).toMatch(/^The access token expired at \d{4}-\d\d-\d\dT[\d:.]+Z: sign in again for a new one\.$/);
    expect(expired.errors?.[0]?.extensions).toMatchObject({ code: "UNAUTHENTICATED", reason: "TOKEN_EXPIRED" });
    // Expired and signed with another secret: the signature fails first, so nothing is revealed.
    const forged = await graphqlClient(server.graphqlUrl, await signTestToken({ expiresInSeconds: -120, secret: "another-secret-another-secret-another-secret" }))(ViewerDocument);
    expect(forged.errors?.[0]?.message).toBe("The access token is missing, malformed, expired or not accepted.");
  });

  test("a non-Bearer Authorization header is UNAUTHENTICATED", async () => {
    const response = await graphqlClient(server.graphqlUrl, undefined, { authorization: "Basic dXNlcjpwYXNz" })(ViewerDocument);
    expect(errorCodes(response)).toEqual(["UNAUTHENTICATED"]);
  });
});

describe("JWKS tokens and admission", () => {
  let jwksServer: Server;
  let closedBeta: TestServer;
  let privateKey: CryptoKey;

  beforeAll(async () => {
    const keys = await generateKeyPair("ES256");
    privateKey = keys.privateKey as CryptoKey;
    const jwk = { ...(await exportJWK(keys.publicKey)), kid: "test-key", alg: "ES256", use: "sig" };
    jwksServer = createServer((_request, response) => response.setHeader("content-type", "application/json").end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((resolve) => jwksServer.listen(0, "127.0.0.1", resolve));
    const { port } = jwksServer.address() as AddressInfo;
    closedBeta = await startTestServer(database.url, { ROLLOUT_STAGE: "closed_beta", SUPABASE_JWKS_URL: `http://127.0.0.1:${port}/jwks` });
  });
  afterAll(async () => {
    await closedBeta?.close();
    await new Promise((resolve) => jwksServer?.close(resolve));
  });

  const es256Token = (sub: string) =>
    new SignJWT({}).setProtectedHeader({ alg: "ES256", kid: "test-key" }).setSubject(sub).setAudience("authenticated").setExpirationTime("1h").sign(privateKey);

  test("an ES256 token verifies through JWKS; closed beta admits only allow-listed users", async () => {
    const outsider = crypto.randomUUID();
    const client = graphqlClient(closedBeta.graphqlUrl, await es256Token(outsider));
    expect(dataOf(await client(ViewerDocument)).viewer).toEqual({ id: outsider, adminRole: null, admitted: false });
    expect(errorCodes(await client(RoomsDocument, { first: 1 }))).toEqual(["FORBIDDEN"]);

    const invited = crypto.randomUUID();
    await sql.query("INSERT INTO beta_allowlist (user_id, added_by) VALUES ($1, 'test')", [invited]);
    const invitedClient = graphqlClient(closedBeta.graphqlUrl, await es256Token(invited));
    expect(dataOf(await invitedClient(RoomsDocument, { first: 1 })).rooms.edges).toEqual([]);
  });

  test("HS256 tokens still verify with the secret alongside JWKS", async () => {
    const user = await createTestUser();
    expect(dataOf(await graphqlClient(closedBeta.graphqlUrl, user.token)(ViewerDocument)).viewer?.id).toBe(user.id);
  });
});

describe("Gate A closed", () => {
  test("the viewer comes from the token alone and nothing touches the database", async () => {
    const empty = await createEmptyDatabase("auth_empty");
    const notReady = await startTestServer(empty.url);
    try {
      const user = await createTestUser();
      const client = graphqlClient(notReady.graphqlUrl, user.token);
      expect(dataOf(await client(ViewerDocument)).viewer).toEqual({ id: user.id, adminRole: null, admitted: false });
      expect(dataOf(await client(CreateRoomDocument, { input: { name: "x" } })).createRoom).toMatchObject({ __typename: "NotReadyError", gate: "migrations" });
    } finally {
      await notReady.close();
      await empty.drop();
    }
  });
});

describe("development tokens", () => {
  test("npm run token signs with the dev secret and a development server accepts it", async () => {
    const env = { ...process.env, APP_ENV: "development", SUPABASE_JWT_SECRET: "", SUPABASE_URL: "", SUPABASE_JWKS_URL: "" };
    const { stdout } = await run("npx", ["tsx", "src/cli/token.ts", "--user", "alice"], { env });
    const dev = await startTestServer(database.url, { APP_ENV: "development", SUPABASE_JWT_SECRET: "" });
    try {
      const viewer = dataOf(await graphqlClient(dev.graphqlUrl, stdout.trim())(ViewerDocument)).viewer;
      expect(viewer?.id).toBe(devUserId("alice"));
    } finally {
      await dev.close();
    }
  });

  test("production refuses the public development secret", () => {
    const production = {
      APP_ENV: "production",
      ROLLOUT_STAGE: "closed_beta",
      DATABASE_URL: "postgresql://u@127.0.0.1:5432/db",
      DATABASE_POOL_URL: "postgresql://u@127.0.0.1:6543/db",
      SUPABASE_URL: "https://project.supabase.co",
      SUPABASE_SERVICE_ROLE_KEY: "service-role-key-0123456789",
      OPENROUTER_API_KEY: "key",
    };
    expect(() => new TokenVerifier(loadConfig({ ...production, SUPABASE_JWT_SECRET: DEV_ONLY_JWT_SECRET }))).toThrow(/development secret/);
    expect(() => new TokenVerifier(loadConfig({ ...production, SUPABASE_JWT_SECRET: TEST_JWT_SECRET }))).not.toThrow();
  });
});
