// Every timestamp Prisma sends or reads means one instant, whatever the
// database's or the server's time zone. @prisma/adapter-pg (7.10) assumes a
// UTC session both ways (prisma/orm#26786, #28629):
// - it sends a Date as zone-less text ("2026-03-01 07:00:00", its UTC wall
//   clock), which PostgreSQL reads in the session's TimeZone: after `ALTER
//   DATABASE … SET timezone`, every range filter and ::timestamptz cast moved
//   by the zone's offset. Here each datetime argument goes out as ISO 8601
//   with its "Z", which PostgreSQL reads as that instant in any zone (and a
//   `date` cast still takes its UTC day);
// - it reads a timestamptz ("2026-03-01 21:00:00+14") by replacing the offset
//   with +00:00 without moving the time. Here the pool as Prisma sees it
//   parses timestamptz values into the UTC instant they denote.
import type pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";

interface ArgType {
  scalarType: string;
  dbType?: string;
  arity?: string;
}

interface SqlQuery {
  sql: string;
  args: unknown[];
  argTypes: ArgType[];
}

interface Queryable {
  queryRaw(query: SqlQuery): Promise<unknown>;
  executeRaw(query: SqlQuery): Promise<number>;
}

interface AdapterWithTransactions extends Queryable {
  startTransaction(...args: unknown[]): Promise<Queryable>;
}

function instantArg(arg: unknown, type: ArgType | undefined): { arg: unknown; type: ArgType | undefined } {
  const isDatetime = arg instanceof Date || (typeof arg === "string" && type?.scalarType === "datetime");
  if (!isDatetime || type?.arity === "list" || type?.dbType === "TIME" || type?.dbType === "TIMETZ") return { arg, type };
  return { arg: new Date(arg as string | Date).toISOString(), type: { ...(type ?? { scalarType: "datetime" }), scalarType: "string" } };
}

export function withInstantArgs(query: SqlQuery): SqlQuery {
  if (!query.args.some((arg, index) => arg instanceof Date || query.argTypes[index]?.scalarType === "datetime")) return query;
  const mapped = query.args.map((arg, index) => instantArg(arg, query.argTypes[index]));
  return { ...query, args: mapped.map((entry) => entry.arg), argTypes: mapped.map((entry, index) => entry.type ?? query.argTypes[index]!) };
}

function sendInstants<Q extends Queryable>(queryable: Q): Q {
  const queryRaw = queryable.queryRaw.bind(queryable);
  const executeRaw = queryable.executeRaw.bind(queryable);
  queryable.queryRaw = (query) => queryRaw(withInstantArgs(query));
  queryable.executeRaw = (query) => executeRaw(withInstantArgs(query));
  return queryable;
}

const TIMESTAMPTZ_OID = 1184;
const TIMESTAMPTZ_ARRAY_OID = 1185;

const ISO_TIMESTAMPTZ = /^(\d{4,}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)([+-])(\d{2})(?::(\d{2}))?(?::(\d{2}))?$/;

/** PostgreSQL's ISO output ("2026-03-01 21:00:00.123456+14", "…+05:30", "…+00:19:32") as the UTC instant, in the form the adapter emits. */
export function utcTimestamptz(text: string): string {
  const match = ISO_TIMESTAMPTZ.exec(text);
  if (!match) return text; // infinity, BC dates: left as PostgreSQL wrote them
  const [, date, time, sign, hours, minutes = "0", seconds = "0"] = match;
  const offsetMs = (Number(hours) * 3600 + Number(minutes) * 60 + Number(seconds)) * 1000 * (sign === "+" ? 1 : -1);
  const instant = new Date(Date.parse(`${date}T${time}Z`) - offsetMs);
  return Number.isNaN(instant.getTime()) ? text : instant.toISOString().replace("Z", "+00:00");
}

function parseTimestamptzArray(text: string): string[] {
  return text === "{}" ? [] : text.slice(1, -1).split(",").map((item) => utcTimestamptz(item.replace(/^"|"$/g, "")));
}

type QueryTypes = { getTypeParser: (oid: number, format?: string) => unknown };

/** The adapter passes its own type parsers with every query; timestamptz is read correctly instead. */
function withUtcReads(config: unknown): unknown {
  const types = (config as { types?: QueryTypes } | null)?.types;
  if (!types) return config;
  const getTypeParser = (oid: number, format?: string) => {
    if (format === "text" || format === undefined) {
      if (oid === TIMESTAMPTZ_OID) return utcTimestamptz;
      if (oid === TIMESTAMPTZ_ARRAY_OID) return parseTimestamptzArray;
    }
    return types.getTypeParser(oid, format);
  };
  return { ...(config as object), types: { getTypeParser } };
}

function readingUtc<T extends { query: (...args: never[]) => unknown }>(queryable: T): T {
  return new Proxy(queryable, {
    get(target, property, receiver) {
      if (property === "query") return (config: unknown, ...rest: unknown[]) => (target.query as (...args: unknown[]) => unknown)(withUtcReads(config), ...rest);
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** The pool as the adapter sees it: queries (and those of clients it checks out) read timestamptz as instants. */
function poolReadingUtc(pool: pg.Pool): pg.Pool {
  const proxied = readingUtc(pool);
  return new Proxy(proxied, {
    get(target, property, receiver) {
      if (property === "connect") return async () => readingUtc(await pool.connect());
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}

export class UtcInstantPrismaPg extends PrismaPg {
  constructor(pool: pg.Pool) {
    super(poolReadingUtc(pool));
  }

  override async connect() {
    const adapter = await super.connect();
    const patched = sendInstants(adapter as unknown as AdapterWithTransactions);
    const startTransaction = patched.startTransaction.bind(patched);
    patched.startTransaction = async (...args) => sendInstants(await startTransaction(...args));
    return adapter;
  }
}
