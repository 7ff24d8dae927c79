// Seeds a usage ledger at volume, server-side (INSERT ... SELECT over
// generate_series, in batches): users, rooms with sessions, one agent and
// direct chat per user, and ledger rows spread evenly over the last `days`
// days in time order (as a live ledger grows), each row's user, model, tokens
// and outcome drawn from a hash of its number, so runs are comparable. Credits are
// computed with the 2026-02-20 multipliers, as the ledger writer would.
import type pg from "pg";
import { PRICING_VERSIONS, CURRENT_PRICING_VERSION } from "../src/metering/pricing.ts";
import { MODEL_ALIASES } from "../src/llm/models.ts";

export interface UsageSeed {
  users: number;
  rows: number;
  days: number;
  roomsPerUser: number;
  batchRows: number;
}

/** users.id of bench user n (1-based), stable across runs. */
export const benchUserId = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;

async function seedScopes(client: pg.Client, seed: UsageSeed): Promise<void> {
  await client.query(`INSERT INTO users (id, email) SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(u), 12, '0'))::uuid, 'bench' || u || '@example.test'
    FROM generate_series(1, $1) u`, [seed.users]);
  await client.query(`INSERT INTO rooms (id, owner_id, name) SELECT md5('room' || u || '-' || r)::uuid, ('00000000-0000-4000-8000-' || lpad(to_hex(u), 12, '0'))::uuid, 'Room ' || r
    FROM generate_series(1, $1) u, generate_series(1, $2) r`, [seed.users, seed.roomsPerUser]);
  await client.query(`INSERT INTO sessions (id, owner_id, room_id)
    SELECT md5('session' || u || '-' || r)::uuid, ('00000000-0000-4000-8000-' || lpad(to_hex(u), 12, '0'))::uuid, md5('room' || u || '-' || r)::uuid
    FROM generate_series(1, $1) u, generate_series(1, $2) r`, [seed.users, seed.roomsPerUser]);
  await client.query(`INSERT INTO agents (id, owner_id, agent_key, name, model_alias) SELECT md5('agent' || u)::uuid, ('00000000-0000-4000-8000-' || lpad(to_hex(u), 12, '0'))::uuid, 'scout', 'Scout', 'qwen'
    FROM generate_series(1, $1) u`, [seed.users]);
  await client.query(`INSERT INTO sessions (id, owner_id, agent_id) SELECT md5('direct' || u)::uuid, ('00000000-0000-4000-8000-' || lpad(to_hex(u), 12, '0'))::uuid, md5('agent' || u)::uuid
    FROM generate_series(1, $1) u`, [seed.users]);
}

const LEDGER_BATCH_SQL = `
  WITH g AS (
    SELECT n, h, 1 + (h / 3) % $3 AS u
      FROM generate_series($1::int, $2::int) n, LATERAL (SELECT ('x' || substr(md5(n::text), 1, 8))::bit(32)::int & 2147483647 AS h) hash),
  r AS (
    SELECT n, h, u, (h % 4 = 0) AS direct, 1 + (h / 7) % $4 AS room, $5::text[] AS aliases,
           now() - make_interval(secs => ($9::int - n) * ($6 * 86400.0 / $9::int)) AS at,
           300 + h % 4000 AS fresh, CASE WHEN h % 3 = 0 THEN 0 ELSE (h / 11) % 1500 END AS cached, 20 + (h / 13) % 1200 AS output,
           CASE WHEN h % 50 = 0 THEN 'error' WHEN h % 97 = 0 THEN 'timeout' ELSE 'success' END AS status
      FROM g),
  priced AS (
    SELECT r.*, r.aliases[1 + (h / 17) % 5] AS alias, fresh * 0.35 + cached * 0.10 + output AS oe FROM r)
  INSERT INTO llm_call_events (id, user_id, room_id, direct_session_id, session_id, agent_id, provider, model_alias, provider_model,
    input_tokens_fresh, input_tokens_cached, output_tokens, total_tokens, oe_tokens_computed, provider_cost_usd, credits_burned,
    latency_ms, status, pricing_version, request_id, call_kind, turn_mode, created_at)
  SELECT md5('event' || n)::uuid, ('00000000-0000-4000-8000-' || lpad(to_hex(u), 12, '0'))::uuid,
         CASE WHEN direct THEN NULL ELSE md5('room' || u || '-' || room)::uuid END,
         CASE WHEN direct THEN md5('direct' || u)::uuid::text END,
         CASE WHEN direct THEN NULL ELSE md5('session' || u || '-' || room)::uuid END,
         md5('agent' || u)::uuid::text, 'openrouter', alias, 'provider/' || alias,
         fresh, cached, output, fresh + cached + output, oe, round((fresh + cached + output) * 0.0000004, 8),
         round(oe / 10000 * greatest((SELECT m FROM unnest($5::text[], $7::numeric[]) AS p(a, m) WHERE a = alias), 0.5), 4),
         200 + (h / 19) % 6000, status, $8, 'gen-' || n,
         CASE WHEN direct THEN 'agent' ELSE (ARRAY['agent','agent','agent','manager_route','synthesis'])[1 + (h / 23) % 5] END,
         CASE WHEN direct THEN 'direct' ELSE (ARRAY['manual','roundtable','orchestrator'])[1 + (h / 29) % 3] END, at
    FROM priced`;

export async function seedUsage(client: pg.Client, seed: UsageSeed, log: (line: string) => void): Promise<void> {
  const started = performance.now();
  await seedScopes(client, seed);
  const version = PRICING_VERSIONS[CURRENT_PRICING_VERSION]!;
  const multipliers = MODEL_ALIASES.map((alias) => version.multipliers[alias]);
  for (let first = 1; first <= seed.rows; first += seed.batchRows) {
    const last = Math.min(seed.rows, first + seed.batchRows - 1);
    await client.query(LEDGER_BATCH_SQL, [first, last, seed.users, seed.roomsPerUser, [...MODEL_ALIASES], seed.days, multipliers, CURRENT_PRICING_VERSION, seed.rows]);
    log(`  ledger rows ${last.toLocaleString("en")} / ${seed.rows.toLocaleString("en")} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  await client.query("VACUUM (ANALYZE) llm_call_events");
  await client.query("VACUUM (ANALYZE) usage_daily_rollups");
  await client.query("VACUUM (ANALYZE) user_activity_days");
  // Steady state: measurements should not pay for flushing the seed's dirty pages.
  await client.query("CHECKPOINT");
  log(`  seeded in ${((performance.now() - started) / 1000).toFixed(0)} s`);
}
