// Every numeric (Int, Float, Decimal), DateTime and enum argument of every
// mutation of the committed schema, nested input fields and lists included,
// gets bad values as variables. Each must answer a typed error with the code
// VALIDATION_FAILED that names the argument (a ValidationError of the
// mutation's union, or errors[0].extensions.code when GraphQL refused the
// variable), never INTERNAL_SERVER_ERROR, and must change no table. The
// arguments come from schema.graphql, so a new mutation is swept too.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  buildSchema,
  getNamedType,
  getNullableType,
  isAbstractType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLEnumType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
} from "graphql";
import { beforeAll, expect, test } from "vitest";
import { useCouncilServer } from "./support/councilServer.ts";
import { graphqlClient } from "./support/graphqlClient.ts";
import { signTestToken } from "./fixtures/users.ts";
import { createAgent, createRoom } from "./fixtures/rooms.ts";
import { join, queryOne, queryRows, raw, sql } from "../src/db/sql.ts";

const schema = buildSchema(readFileSync(new URL("../schema.graphql", import.meta.url), "utf8"));
const SWEPT_SCALARS = ["Int", "Float", "Decimal", "DateTime"];
const VALIDATION_FAILED = "VALIDATION_FAILED";

/** Bad values per type, picked by hand: [what it is, the value]. */
function badValuesOf(type: GraphQLNamedType): [string, unknown][] {
  if (isEnumType(type)) {
    const first = type.getValues()[0]!.name;
    return [["an unknown value", "NOT_A_VALUE"], ["a value in lower case", first.toLowerCase()], ["a number", 1]];
  }
  switch (type.name) {
    case "Int":
      return [["a string", "abc"], ["out of range", 1e30], ["fractional", 1.5], ["negative", -1]];
    case "Float":
      return [["a string", "abc"], ["a boolean", true], ["a list", [1]]];
    case "Decimal":
      return [
        ["a word", "abc"],
        ["a JSON number", 12.5],
        ["1e30 as a number", 1e30],
        ["exponent notation", "1e30"],
        ["31 digits", `1${"0".repeat(30)}`],
        ["above every limit", "10000000"],
        ["five decimal places", "0.00001"],
        ["negative", "-5"],
        ["NaN", "NaN"],
        ["empty", ""],
      ];
    case "DateTime":
      return [["a word", "abc"], ["an impossible date", "2026-02-30T00:00:00Z"], ["no offset", "2026-01-01T00:00:00"], ["a number", 1e30]];
    default:
      throw new Error(`no bad values for ${type.name}`);
  }
}

interface SweptArgument {
  mutation: string;
  /** From the argument down, e.g. ["input", "amount"]. */
  path: string[];
  type: GraphQLNamedType;
  inList: boolean;
}

function sweptPaths(mutation: string, type: GraphQLInputType, path: string[], inList = false): SweptArgument[] {
  const inner = getNullableType(type) as GraphQLInputType;
  if (isListType(inner)) return sweptPaths(mutation, inner.ofType as GraphQLInputType, path, true);
  if (isInputObjectType(inner)) return Object.values(inner.getFields()).flatMap((field) => sweptPaths(mutation, field.type, [...path, field.name], inList));
  const named = getNamedType(inner);
  return isEnumType(named) || SWEPT_SCALARS.includes(named.name) ? [{ mutation, path, type: named, inList }] : [];
}

const mutations = Object.values(schema.getMutationType()!.getFields());
const swept = mutations.flatMap((field) => field.args.flatMap((arg) => sweptPaths(field.name, arg.type, [arg.name])));
const cases = swept.flatMap((argument) =>
  badValuesOf(argument.type).map(([what, bad]) => {
    const value = argument.inList ? [bad] : bad;
    return { title: `${argument.mutation}(${argument.path.join(".")}: ${argument.type.name}) = ${JSON.stringify(value)} (${what})`, argument, value };
  }),
);

interface Ids {
  room: string;
  agent: string;
  user: string;
}

/** Valid values chosen over the schema's order where the first would make a bad value valid: an ADJUSTMENT may be negative. */
const VALID_OVERRIDES: Record<string, unknown> = { "grantCredits.input.kind": "GRANT" };

/** A valid value for a required field that is not the one swept (nullable ones are left out). */
function validValue(type: GraphQLInputType, path: string[], mutation: string, ids: Ids): unknown {
  const override = VALID_OVERRIDES[`${mutation}.${path.join(".")}`];
  if (override !== undefined) return override;
  const inner = getNullableType(type) as GraphQLInputType;
  if (isListType(inner)) return [];
  if (isInputObjectType(inner)) {
    const required = Object.values(inner.getFields()).filter((field) => isNonNullType(field.type));
    return Object.fromEntries(required.map((field) => [field.name, validValue(field.type, [...path, field.name], mutation, ids)]));
  }
  if (isEnumType(inner)) return (inner as GraphQLEnumType).getValues()[0]!.name;
  const field = path.at(-1)!;
  switch (getNamedType(inner).name) {
    case "Int":
    case "Float":
      return 1;
    case "Decimal":
      return "1";
    case "Boolean":
      return false;
    case "DateTime":
      return new Date().toISOString();
    case "ID": {
      const owner = (field === "id" ? mutation : field).toLowerCase();
      return owner.includes("user") ? ids.user : owner.includes("agent") ? ids.agent : ids.room;
    }
    default:
      return "sweep_value_1";
  }
}

function withValueAt(root: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(root);
  let target = copy;
  for (const key of path.slice(0, -1)) target = (target[key] ??= {}) as Record<string, unknown>;
  target[path.at(-1)!] = value;
  return copy;
}

/** The mutation with its arguments as variables, selecting the typed error of its union. */
function operationFor(field: GraphQLField<unknown, unknown>): string {
  const variables = field.args.map((arg) => `$${arg.name}: ${arg.type.toString()}`).join(", ");
  const args = field.args.map((arg) => `${arg.name}: $${arg.name}`).join(", ");
  const result = getNamedType(field.type);
  const members = isAbstractType(result) ? schema.getPossibleTypes(result).map((type) => type.name) : [];
  const implementsError = (name: string) => {
    const member = schema.getType(name);
    return isObjectType(member) && member.getInterfaces().some((face) => face.name === "Error");
  };
  const errorFields = members.some(implementsError) ? " ... on Error { code message }" : "";
  const issues = members.includes("ValidationError") ? " ... on ValidationError { issues { path message } }" : "";
  return `mutation Sweep(${variables}) { ${field.name}(${args}) { __typename${errorFields}${issues} } }`;
}

interface SweepResponse {
  data?: Record<string, { __typename: string; code?: string; issues?: { path: string[] }[] } | null> | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

const harness = useCouncilServer("input_sweep");
const ownerId = randomUUID();
let ownerToken: string;
let ids: Ids;
let tables: string[];

/** Posted as the owner, raw: the document is built here, not by codegen. */
function post(body: { query: string; variables?: unknown }, accept = "application/graphql-response+json"): Promise<Response> {
  const headers = { "content-type": "application/json", accept, authorization: `Bearer ${ownerToken}` };
  return fetch(harness.server.graphqlUrl, { method: "POST", headers, body: JSON.stringify(body) });
}

/** One digest per table of what every row holds: equal digests, nothing written. */
async function snapshot(): Promise<Record<string, string>> {
  const digests = tables.map((table) => sql`(SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM ${raw(`"${table}"`)} t) AS ${raw(`"${table}"`)}`);
  return (await queryOne<Record<string, string>>(harness.server.runtime.pool, sql`SELECT ${join(digests, ", ")}`))!;
}

beforeAll(async () => {
  const { pool } = harness.server.runtime;
  const target = randomUUID();
  await queryRows(pool, sql`INSERT INTO users (id, admin_role) VALUES (${ownerId}::uuid, 'owner'), (${target}::uuid, NULL)`);
  ownerToken = await signTestToken({ sub: ownerId });
  const owner = graphqlClient(harness.server.graphqlUrl, ownerToken);
  ids = { room: (await createRoom(owner)).id, agent: (await createAgent(owner)).id, user: target };
  const rows = await queryRows<{ name: string }>(pool, sql`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`);
  tables = rows.map((row) => row.name);
});

test("the sweep covers the numeric and enum arguments of the mutations", () => {
  const covered = swept.map((argument) => `${argument.mutation}.${argument.path.join(".")}`);
  expect(covered).toEqual(expect.arrayContaining(["assignAgent.input.position", "grantCredits.input.amount", "grantCredits.input.kind", "setLowBalanceThreshold.input.threshold", "setRoomCreditBudget.input.monthlyBudget", "createAgent.input.toolPermissions"]));
  expect(cases.length).toBeGreaterThan(50);
});

test.each(cases.map((sweptCase) => [sweptCase.title, sweptCase] as const))("%s: VALIDATION_FAILED naming the argument, nothing written", async (_title, { argument, value }) => {
  const field = schema.getMutationType()!.getFields()[argument.mutation]!;
  const base = Object.fromEntries(field.args.map((arg) => [arg.name, validValue(arg.type, [arg.name], field.name, ids)]));
  const variables = withValueAt(base, argument.path, value);
  const before = await snapshot();

  const response = await post({ query: operationFor(field), variables });
  const body = (await response.json()) as SweepResponse;

  expect(response.status).toBeLessThan(500);
  const refused = body.errors?.[0];
  const result = body.data?.[argument.mutation];
  if (refused) {
    expect(refused.extensions?.code).toBe(VALIDATION_FAILED);
    expect(refused.message).toContain(argument.path.length > 1 ? argument.path.join(".") : `$${argument.path[0]}`);
  } else {
    expect(result).toMatchObject({ __typename: "ValidationError", code: VALIDATION_FAILED });
    expect(result!.issues!.map((issue) => issue.path.at(-1))).toContain(argument.path.at(-1));
  }
  expect(await snapshot()).toEqual(before);
});

test.each([
  ["a Decimal that is not a string", 'amount: 12.5, kind: GRANT'],
  ["a Decimal that is not a number", 'amount: "abc", kind: GRANT'],
  ["an unknown enum value", 'amount: "1", kind: NOT_A_VALUE'],
])("a literal in the document, %s, fails validation with its code and place", async (_what, fields) => {
  const before = await snapshot();
  const query = `mutation { grantCredits(input: { userId: "${ids.user}", idempotencyKey: "sweep-literal-1", ${fields} }) { __typename } }`;
  const response = await post({ query });
  const body = (await response.json()) as { errors?: { extensions?: { code?: string }; locations?: unknown[] }[] };
  expect(response.status).toBe(400);
  expect(body.errors?.map((error) => error.extensions?.code)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
  expect(body.errors?.[0]?.locations).toHaveLength(1);
  expect(await snapshot()).toEqual(before);
});

test("a subscription's refused variable is VALIDATION_FAILED too", async () => {
  const query = "subscription Follow($turnId: ID!, $after: Int) { turnEvents(turnId: $turnId, afterSequence: $after) { __typename } }";
  const response = await post({ query, variables: { turnId: randomUUID(), after: 1.5 } }, "text/event-stream");
  const event = (await response.text()).split("\n").find((line) => line.startsWith("data: {"));
  const payload = JSON.parse(event!.slice("data: ".length)) as { errors: { extensions?: { code?: string } }[] };
  expect(payload.errors.map((error) => error.extensions?.code)).toEqual([VALIDATION_FAILED]);
});
