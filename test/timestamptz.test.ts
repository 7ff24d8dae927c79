// The server's pool reads timestamptz values by position (src/db/timestamptz.ts)
// instead of with pg's regular expressions. Whatever PostgreSQL writes, in
// any session time zone, the instant must be the one pg's own parser reads:
// the text of each value comes from a real PostgreSQL and both parsers read it.
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createEmptyDatabase, type TestDatabase } from "./support/database.ts";
import { seededRandom } from "./support/seededRandom.ts";
import { parseTimestamptz, poolTypeParsers } from "../src/db/timestamptz.ts";
import { createDb, type DbHandle } from "../src/db.ts";

const pgParser = pg.types.getTypeParser(1184, "text") as (text: string) => unknown;

/** Offsets of whole hours, of minutes (India, Newfoundland, Chatham) and, before 1900, of seconds (local mean time). */
const TIME_ZONES = ["UTC", "Asia/Kolkata", "America/St_Johns", "Pacific/Chatham", "America/Los_Angeles", "Europe/Amsterdam", "Asia/Kathmandu"];

let database: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  database = await createEmptyDatabase("timestamptz");
  client = new pg.Client({ connectionString: database.url });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  await database?.drop();
});

const sameInstant = (text: string) => {
  const ours = parseTimestamptz(text);
  const theirs = pgParser(text);
  expect(ours instanceof Date ? ours.getTime() : ours, text).toEqual(theirs instanceof Date ? theirs.getTime() : theirs);
};

test("every value PostgreSQL writes, in every time zone, reads as the instant pg's own parser reads", async () => {
  const random = seededRandom(1184);
  // Microseconds throughout, from year 1 to 9999 (and the ends of both eras), with and without a fraction.
  const instants = Array.from({ length: 4_000 }, () => {
    const seconds = Math.floor(random() * 315_537_897_599) - 62_135_596_800;
    const micros = random() < 0.2 ? 0 : Math.floor(random() * 1_000_000);
    return `${seconds}.${String(micros).padStart(6, "0")}`;
  });
  let texts = 0;
  for (const zone of TIME_ZONES) {
    await client.query(`SET TIME ZONE '${zone}'`);
    const { rows } = await client.query<{ text: string }>({
      text: `SELECT (to_timestamp(e::numeric))::text AS text FROM unnest($1::text[]) e
             UNION ALL SELECT unnest(ARRAY['infinity', '-infinity', '0044-03-15 12:00:00+00 BC', '0099-12-31 23:59:59.999999+00', '0100-01-01 00:00:00+00',
                                           '1900-01-01 00:00:00+00', '2026-12-07 21:34:18.029+00', '9999-12-31 23:59:59.999999+00']::timestamptz[])::text`,
      values: [instants],
    });
    for (const { text } of rows) sameInstant(text);
    texts += rows.length;
  }
  expect(texts).toBe(TIME_ZONES.length * (instants.length + 8));
});

test("text PostgreSQL does not write in DateStyle ISO goes to pg's parser", () => {
  for (const text of ["2026-12-07T21:34:18Z", "2026-12-07 21:34:18+05:30:15", "2026-12-07 21:34:18", "12/07/2026 21:34:18 UTC", "2026-12-07 21:34:18.5-0800", "garbage"]) {
    sameInstant(text);
  }
});

test("the server's pool reads timestamptz columns through it, and other types as pg does", async () => {
  expect(poolTypeParsers.getTypeParser(1082, "text")).toBe(pg.types.getTypeParser(1082, "text"));
  const db: DbHandle = createDb({ poolUrl: database.url, poolMax: 1 });
  try {
    // The parser the pool's connections use, not the one the module exports.
    const connection = await db.pool.connect();
    try {
      expect(connection.getTypeParser(1184, "text")).toBe(parseTimestamptz);
    } finally {
      connection.release();
    }
    const { rows } = await db.pool.query<{ at: Date; day: Date }>("SELECT '2026-12-07 21:34:18.029999+05:30'::timestamptz AS at, '2026-12-07'::date AS day");
    expect(rows[0]!.at).toEqual(new Date("2026-12-07T16:04:18.029Z"));
    expect(rows[0]!.day).toEqual(pg.types.getTypeParser(1082, "text")("2026-12-07"));
  } finally {
    await db.close();
  }
});
