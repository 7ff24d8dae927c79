// GraphQL hardening over real HTTP: depth, alias, token, batch and body
// limits, CSRF prevention, and introspection/GraphiQL off in production.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createMigratedDatabase, type TestDatabase } from "./support/database.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { LIMITS } from "../src/http/hardening.ts";
import { JOURNEY } from "../src/http/graphiql.ts";
import { schema } from "../src/schema/index.ts";
import { parse, validate } from "graphql";

let database: TestDatabase;
let server: TestServer;

beforeAll(async () => {
  database = await createMigratedDatabase("hardening");
  server = await startTestServer(database.url);
});
afterAll(async () => {
  await server?.close();
  await database?.drop();
});

function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
}

type ErrorBody = { errors?: { message: string; extensions?: { code?: string } }[] };

async function errorCodesOf(response: Response): Promise<(string | undefined)[]> {
  return ((await response.json()) as ErrorBody).errors?.map((error) => error.extensions?.code) ?? [];
}

async function errorMessages(response: Response): Promise<string> {
  return ((await response.json()) as ErrorBody).errors?.map((error) => error.message).join("\n") ?? "";
}

describe("operation limits", () => {
  test("a query deeper than the limit is refused before execution", async () => {
    // The schema has no cycles deep enough, so the depth is built from nesting;
    // the limit is checked during validation either way.
    let selection = "id";
    for (let level = 0; level < LIMITS.maxDepth + 1; level++) selection = `nested${level} { ${selection} }`;
    expect(await errorMessages(await post(server.graphqlUrl, { query: `{ ${selection} }` }))).toMatch(/depth/i);
  });

  test("too many aliases are refused", async () => {
    const aliases = Array.from({ length: LIMITS.maxAliases + 1 }, (_, index) => `a${index}: systemStatus { ready }`).join(" ");
    expect(await errorMessages(await post(server.graphqlUrl, { query: `{ ${aliases} }` }))).toMatch(/alias/i);
  });

  test("a document refused once is refused the same way when sent again (validation outcomes are kept per document)", async () => {
    const aliases = Array.from({ length: LIMITS.maxAliases + 1 }, (_, index) => `again${index}: systemStatus { ready }`).join(" ");
    const [first, second] = [await post(server.graphqlUrl, { query: `{ ${aliases} }` }), await post(server.graphqlUrl, { query: `{ ${aliases} }` })];
    expect(second.status).toBe(first.status);
    const [firstBody, secondBody] = [await first.text(), await second.text()];
    expect(firstBody).toMatch(/alias/i);
    expect(secondBody).toBe(firstBody);
  });

  test("too many tokens are refused", async () => {
    const fields = Array.from({ length: LIMITS.maxTokens }, () => "__typename").join(" ");
    expect(await errorMessages(await post(server.graphqlUrl, { query: `{ ${fields} }` }))).toMatch(/token/i);
  });

  test("each refusal carries the code the frontend guide documents", async () => {
    let nested = "id";
    for (let level = 0; level < LIMITS.maxDepth + 1; level++) nested = `nested${level} { ${nested} }`;
    const aliases = Array.from({ length: LIMITS.maxAliases + 1 }, (_, index) => `a${index}: systemStatus { ready }`).join(" ");
    const tokens = Array.from({ length: LIMITS.maxTokens }, () => "__typename").join(" ");
    const batch = Array.from({ length: LIMITS.batchSize + 1 }, () => ({ query: "{ systemStatus { ready } }" }));
    // Each distinct code (the over-deep query also names its unknown fields, with the same code).
    const codesOf = async (body: unknown) => [...new Set(await errorCodesOf(await post(server.graphqlUrl, body)))];
    const codes = {
      depth: await codesOf({ query: `{ ${nested} }` }),
      aliases: await codesOf({ query: `{ ${aliases} }` }),
      tokens: await codesOf({ query: `{ ${tokens} }` }),
      unknownField: await codesOf({ query: "{ noSuchField }" }),
      unparsable: await codesOf({ query: "{ systemStatus { " }),
      batch: await codesOf(batch),
    };
    expect(codes).toEqual({
      depth: ["GRAPHQL_VALIDATION_FAILED"],
      aliases: ["GRAPHQL_VALIDATION_FAILED"],
      tokens: ["GRAPHQL_PARSE_FAILED"],
      unknownField: ["GRAPHQL_VALIDATION_FAILED"],
      unparsable: ["GRAPHQL_PARSE_FAILED"],
      batch: ["BAD_REQUEST"],
    });
  });

  test("batches above the limit are refused; within it they run", async () => {
    const operation = { query: "{ systemStatus { ready } }" };
    const ok = await post(server.graphqlUrl, Array.from({ length: LIMITS.batchSize }, () => operation));
    expect(((await ok.json()) as unknown[]).length).toBe(LIMITS.batchSize);
    const tooMany = await post(server.graphqlUrl, Array.from({ length: LIMITS.batchSize + 1 }, () => operation));
    expect(tooMany.status).toBeGreaterThanOrEqual(400);
  });

  test("a body over the size limit is refused with 413", async () => {
    const response = await post(server.graphqlUrl, { query: `{ systemStatus { ready } } #${"x".repeat(LIMITS.maxBodyBytes)}` });
    expect(response.status).toBe(413);
    expect(await errorCodesOf(response)).toEqual(["PAYLOAD_TOO_LARGE"]);
  });

  test("a body without Content-Length (chunked) is refused with 411 before it is read", async () => {
    const chunks = new TextEncoder().encode(JSON.stringify({ query: "{ systemStatus { ready } }" }));
    const body = new ReadableStream({ start: (controller) => (controller.enqueue(chunks), controller.close()) });
    const response = await fetch(server.graphqlUrl, { method: "POST", headers: { "content-type": "application/json" }, body, duplex: "half" } as RequestInit);
    expect(response.status).toBe(411);
    expect(await errorCodesOf(response)).toEqual(["LENGTH_REQUIRED"]);
  });

  test("CSRF prevention: a simple GET without the preflight header is refused", async () => {
    const query = encodeURIComponent("{ systemStatus { ready } }");
    const refused = await fetch(`${server.graphqlUrl}?query=${query}`);
    expect(refused.status).toBe(403);
    expect(await errorCodesOf(refused)).toEqual(["CSRF_HEADER_REQUIRED"]);
    const withHeader = await fetch(`${server.graphqlUrl}?query=${query}`, { headers: { "x-graphql-yoga-csrf": "1", accept: "application/json" } });
    expect(withHeader.status).toBe(200);
  });

  test("a method other than GET and POST is refused with a code", async () => {
    const response = await fetch(server.graphqlUrl, { method: "PUT", headers: { "content-type": "application/json" }, body: "{}" });
    expect(response.status).toBe(405);
    expect(await errorCodesOf(response)).toEqual(["BAD_REQUEST"]);
  });
});

describe("CORS outside production", () => {
  const preflight = (origin: string) =>
    fetch(server.graphqlUrl, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" } });

  test.each(["http://localhost:3000", "http://127.0.0.1:5173", "http://[::1]:8080"])("a frontend dev server on %s may call the API", async (origin) => {
    const response = await preflight(origin);
    expect(response.status).toBeLessThan(300);
    expect(response.headers.get("access-control-allow-origin")).toBe(origin);
    expect(response.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    const answer = await post(server.graphqlUrl, { query: "{ systemStatus { ready } }" }, { origin });
    expect(answer.headers.get("access-control-expose-headers")?.toLowerCase()).toContain("x-request-id");
  });

  test.each(["https://evil.example", "http://localhost.evil.example", "null"])("any other origin (%s) gets no CORS grant", async (origin) => {
    const response = await preflight(origin);
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("GraphiQL's default document", () => {
  test("every operation of the first-use journey is valid against the schema", () => {
    const document = parse(JOURNEY);
    expect(validate(schema, document)).toEqual([]);
    expect(document.definitions.map((definition) => (definition as { name?: { value: string } }).name?.value)).toEqual([
      "CreateAgents", "MyAgents", "CreateRoom", "AssignAgents", "StartSession", "Send", "Follow", "Cost", "Conversations",
    ]);
  });
});

describe("production", () => {
  const production = {
    APP_ENV: "production",
    ROLLOUT_STAGE: "closed_beta",
    SUPABASE_URL: "http://127.0.0.1:9",
    SUPABASE_SERVICE_ROLE_KEY: "service-role-key-0123456789",
    OPENROUTER_API_KEY: "test-key",
  };
  const introspection = { query: "{ __schema { queryType { name } } }" };

  test("introspection and GraphiQL are off unless GRAPHIQL_ENABLED", async () => {
    const closed = await startTestServer(database.url, production);
    try {
      expect(await errorMessages(await post(closed.graphqlUrl, introspection))).toMatch(/introspection/i);
      const page = await fetch(closed.graphqlUrl, { headers: { accept: "text/html" } });
      expect(await page.text()).not.toContain("<div id=\"root\">");
    } finally {
      await closed.close();
    }
    const open = await startTestServer(database.url, { ...production, GRAPHIQL_ENABLED: "true" });
    try {
      const body = (await (await post(open.graphqlUrl, introspection)).json()) as { data?: unknown };
      expect(body.data).toEqual({ __schema: { queryType: { name: "Query" } } });
      const page = await fetch(open.graphqlUrl, { headers: { accept: "text/html" } });
      expect(await page.text()).toContain("Supabase access token");
    } finally {
      await open.close();
    }
  });
});
