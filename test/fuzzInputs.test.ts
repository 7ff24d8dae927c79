// Property-style: hostile strings (NUL, lone surrogates, RTL marks, emoji,
// combining sequences, 32k characters …) in every string argument of every
// query and mutation. No answer may be INTERNAL_SERVER_ERROR, and an
// operation that answers with an error writes nothing.
import { getNamedType, getNullableType, isEnumType, isInputObjectType, isListType, isNonNullType, isScalarType, type GraphQLArgument, type GraphQLField, type GraphQLInputType } from "graphql";
import { expect, test } from "vitest";
import { schema } from "../src/schema/index.ts";
import { useCouncilServer } from "./support/councilServer.ts";
import { createAgent, createCouncil, sendAccepted, waitForTurn } from "./fixtures/turns.ts";
import { createTestUser } from "./fixtures/users.ts";
import { graphqlClient } from "./support/graphqlClient.ts";

const harness = useCouncilServer("fuzz_inputs");

/** A small deterministic generator (mulberry32): the same cases on every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = ["\u0000", "\uD800", "\uDC00", "\u202E", "\u200F", "🧠", "👩‍👩‍👧", "e\u0301", "Z\u0336\u0337", "'; DROP TABLE rooms; --", "\\\\", "\n", " ", "a", "0", "{}", "%s", "\uFFFF"];

function hostileString(next: () => number): string {
  if (next() < 0.08) return "x".repeat(32_000 + Math.floor(next() * 1000));
  return Array.from({ length: 1 + Math.floor(next() * 6) }, () => PIECES[Math.floor(next() * PIECES.length)]!).join("");
}

interface Ids {
  room: string;
  agent: string;
  session: string;
  turn: string;
}

/** A valid value for an argument that is not the one being fuzzed. */
function validValue(type: GraphQLInputType, name: string, fieldName: string, ids: Ids): unknown {
  const inner = getNullableType(type) as GraphQLInputType;
  if (isListType(inner)) return [];
  if (isInputObjectType(inner)) {
    return Object.fromEntries(Object.values(inner.getFields()).filter((field) => isNonNullType(field.type)).map((field) => [field.name, validValue(field.type, field.name, fieldName, ids)]));
  }
  if (isEnumType(inner)) return inner.getValues()[0]!.value;
  const scalar = getNamedType(inner).name;
  if (scalar === "Int") return 1;
  if (scalar === "Float") return 1;
  if (scalar === "Boolean") return false;
  if (scalar === "DateTime") return new Date().toISOString();
  if (scalar === "ID") {
    const owner = `${name} ${fieldName}`.toLowerCase();
    if (owner.includes("room")) return ids.room;
    if (owner.includes("agent")) return ids.agent;
    if (owner.includes("turn")) return ids.turn;
    return ids.session;
  }
  return "valid";
}

/** Paths to every String/ID position in an argument (nested input fields included). */
function stringPaths(type: GraphQLInputType, path: string[]): string[][] {
  const inner = getNullableType(type) as GraphQLInputType;
  if (isInputObjectType(inner)) return Object.values(inner.getFields()).flatMap((field) => stringPaths(field.type, [...path, field.name]));
  if (isScalarType(inner) && (inner.name === "String" || inner.name === "ID")) return [path];
  return [];
}

function withValueAt(root: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(root);
  let target = copy;
  for (const key of path.slice(0, -1)) target = (target[key] ??= {}) as Record<string, unknown>;
  target[path.at(-1)!] = value;
  return copy;
}

function operationFor(kind: "query" | "mutation", field: GraphQLField<unknown, unknown>): string {
  const variables = field.args.map((arg: GraphQLArgument) => `$${arg.name}: ${arg.type.toString()}`).join(", ");
  const args = field.args.map((arg) => `${arg.name}: $${arg.name}`).join(", ");
  return `${kind} Fuzz${variables ? `(${variables})` : ""} { ${field.name}${args ? `(${args})` : ""} { __typename } }`;
}

const COUNTS = `SELECT (SELECT count(*) FROM rooms) AS rooms, (SELECT count(*) FROM agents) AS agents, (SELECT count(*) FROM room_agents) AS room_agents,
  (SELECT count(*) FROM sessions) AS sessions, (SELECT count(*) FROM turns) AS turns, (SELECT count(*) FROM messages) AS messages,
  (SELECT count(*) FROM llm_call_events) AS calls, (SELECT count(*) FROM routing_previews) AS previews,
  (SELECT count(*) FROM admin_audit_log) AS audit, (SELECT string_agg(id::text || coalesce(title, '') || coalesce(deleted_at::text, ''), ',' ORDER BY id) FROM sessions) AS session_state,
  (SELECT string_agg(id::text || name || goal || current_mode::text || coalesce(pending_mode::text, '') || coalesce(deleted_at::text, ''), ',' ORDER BY id) FROM rooms) AS room_state,
  (SELECT string_agg(id::text || name || role_prompt || agent_key || coalesce(deleted_at::text, ''), ',' ORDER BY id) FROM agents) AS agent_state`;

test("hostile strings in every string argument: never INTERNAL_SERVER_ERROR, and an error writes nothing", async () => {
  const user = await createTestUser();
  const client = graphqlClient(harness.server.graphqlUrl, user.token);
  const council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"]]);
  const turn = await waitForTurn(client, await sendAccepted(client, council.sessionId, "Hello"));
  const ids: Ids = { room: council.roomId, agent: (await createAgent(client, "fuzz_agent")).id, session: council.sessionId, turn: turn.id };
  const { pool } = harness.server.runtime;
  const next = random(20261130);
  const roots = [["query", schema.getQueryType()!], ["mutation", schema.getMutationType()!]] as const;
  let cases = 0;
  for (const [kind, root] of roots) {
    for (const field of Object.values(root.getFields())) {
      const base = Object.fromEntries(field.args.map((arg) => [arg.name, validValue(arg.type, arg.name, field.name, ids)]));
      for (const arg of field.args) {
        for (const path of stringPaths(arg.type, [arg.name])) {
          for (let sample = 0; sample < 4; sample++) {
            const variables = withValueAt(base, path, hostileString(next));
            const before = (await pool.query(COUNTS)).rows[0];
            const response = await fetch(harness.server.graphqlUrl, {
              method: "POST",
              headers: { "content-type": "application/json", authorization: `Bearer ${user.token}` },
              body: JSON.stringify({ query: operationFor(kind, field), variables }),
            });
            const body = (await response.json()) as { data?: Record<string, { __typename?: string } | null>; errors?: { extensions?: { code?: string } }[] };
            const where = `${field.name}(${path.join(".")})`;
            expect(response.status, where).toBeLessThan(500);
            expect((body.errors ?? []).map((error) => error.extensions?.code), where).not.toContain("INTERNAL_SERVER_ERROR");
            const typename = body.data?.[field.name]?.__typename;
            const succeeded = !body.errors?.length && typename !== undefined && !typename.endsWith("Error");
            await harness.server.runtime.turns.drain();
            if (kind === "mutation" && !succeeded) expect((await pool.query(COUNTS)).rows[0], where).toEqual(before);
            cases++;
          }
        }
      }
    }
  }
  expect(cases).toBeGreaterThan(100);
}, 300_000);

test.each([
  ["an impossible date", "2026-13-45T99:99:99.000000Z|6f1c3a2e-1b2c-4d3e-8f9a-0b1c2d3e4f5a"],
  ["February 30th", "2026-02-30T10:00:00.000000Z|6f1c3a2e-1b2c-4d3e-8f9a-0b1c2d3e4f5a"],
  ["an impossible uuid", "2026-01-01T10:00:00.000000Z|------------------------------------"],
])("an llmCallEvents cursor of the right shape holding %s is VALIDATION_FAILED", async (_name, position) => {
  const user = await createTestUser();
  const after = Buffer.from(position).toString("base64url");
  const response = await fetch(harness.server.graphqlUrl, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${user.token}` },
    body: JSON.stringify({ query: "query Page($after: String) { viewer { llmCallEvents(first: 5, after: $after) { edges { cursor } } } }", variables: { after } }),
  });
  const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
  expect(body.errors?.map((error) => error.extensions?.code)).toEqual(["VALIDATION_FAILED"]);
});
