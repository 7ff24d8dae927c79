// Seeds one room session with a transcript, straight into the database: a
// user, a room with three agents, and `turns` turns of one user message and
// two or three agent replies each (a synthesis every fifth turn, a private
// manager note every third, which the transcript must skip). Message lengths
// (200-800 characters), words and timestamps (microseconds included, as
// `now()` writes them) come from a fixed-seed generator, so runs are comparable.
import { randomUUID } from "node:crypto";
import pg from "pg";

export interface TranscriptSeed {
  userId: string;
  sessionId: string;
  /** Shared messages, the ones the transcript shows. */
  sharedMessages: number;
}

const AGENT_KEYS = ["scout", "critic", "builder"] as const;
const WORDS = (
  "the council should weigh cost latency and risk before we commit; a staged rollout keeps the blast radius small, " +
  "but the migration must stay atomic. I disagree: \"measure first\" is cheaper than guessing, and the cache hides " +
  "the cold path. consider the user's budget, the provider's limits, retries with backoff, idempotent writes, " +
  "and a ledger that never double-counts. näive estimates drift — numbers like 12.5% or 3×faster need a benchmark."
).split(" ");
const TURN_SPACING_S = 95;

/** A deterministic generator (mulberry32): the same transcript on every run. */
function generator(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function text(random: () => number, minChars: number, maxChars: number): string {
  const length = minChars + Math.floor(random() * (maxChars - minChars));
  let out = "";
  while (out.length < length) out += (out && random() < 0.04 ? "\n\n" : out ? " " : "") + WORDS[Math.floor(random() * WORDS.length)];
  return out.slice(0, length).trimEnd();
}

interface MessageRow {
  turnId: string;
  role: "user" | "agent" | "synthesis";
  agentId: string | null;
  agentKey: string | null;
  content: string;
  visibility: "shared" | "private";
  offsetS: number;
}

function transcript(turnIds: string[], agentIds: string[], random: () => number): MessageRow[] {
  const rows: MessageRow[] = [];
  turnIds.forEach((turnId, turn) => {
    let at = turn * TURN_SPACING_S + random();
    const push = (row: Omit<MessageRow, "turnId" | "offsetS">) => rows.push({ ...row, turnId, offsetS: (at += 3 + random() * 9) });
    push({ role: "user", agentId: null, agentKey: null, content: text(random, 200, 500), visibility: "shared" });
    if (turn % 3 === 0) push({ role: "agent", agentId: agentIds[0]!, agentKey: AGENT_KEYS[0], content: text(random, 200, 400), visibility: "private" });
    const replies = 2 + Math.floor(random() * 2);
    for (let reply = 0; reply < replies; reply++) {
      push({ role: "agent", agentId: agentIds[reply]!, agentKey: AGENT_KEYS[reply]!, content: text(random, 300, 800), visibility: "shared" });
    }
    if (turn % 5 === 4) push({ role: "synthesis", agentId: null, agentKey: null, content: text(random, 300, 800), visibility: "shared" });
  });
  return rows;
}

export async function seedTranscript(databaseUrl: string, turns: number): Promise<TranscriptSeed> {
  const random = generator(42);
  const userId = randomUUID();
  const roomId = randomUUID();
  const sessionId = randomUUID();
  const agentIds = AGENT_KEYS.map(() => randomUUID());
  const turnIds = Array.from({ length: turns }, () => randomUUID());
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query("BEGIN");
    await client.query("INSERT INTO users (id, email) VALUES ($1, 'transcript@example.test')", [userId]);
    await client.query("INSERT INTO rooms (id, owner_id, name, goal, current_mode) VALUES ($1, $2, 'Launch council', 'Ship safely', 'roundtable')", [roomId, userId]);
    for (const [position, agentKey] of AGENT_KEYS.entries()) {
      await client.query("INSERT INTO agents (id, owner_id, agent_key, name, model_alias) VALUES ($1, $2, $3, $4, 'qwen')", [agentIds[position], userId, agentKey, `Agent ${agentKey}`]);
      await client.query("INSERT INTO room_agents (id, room_id, agent_id, position) VALUES (gen_random_uuid(), $1, $2, $3)", [roomId, agentIds[position], position]);
    }
    const start = await client.query<{ start: string }>("SELECT (now() - make_interval(secs => $1))::text AS start", [turns * TURN_SPACING_S + 600]);
    const base = start.rows[0]!.start;
    await client.query("INSERT INTO sessions (id, owner_id, room_id, title, created_at, last_activity_at) VALUES ($1, $2, $3, 'Launch plan', $4, now())", [sessionId, userId, roomId, base]);
    const roster = JSON.stringify(AGENT_KEYS.map((agentKey, position) => ({ agentId: agentIds[position], agentKey, name: `Agent ${agentKey}`, modelAlias: "qwen", rolePrompt: "", toolPermissions: [], position })));
    const messages = transcript(turnIds, agentIds, random);
    for (const [seq, turnId] of turnIds.entries()) {
      const userContent = messages.find((message) => message.turnId === turnId && message.role === "user")!.content;
      await client.query(
        `INSERT INTO turns (id, session_id, user_id, seq, status, mode, roster_snapshot, user_content, started_at, completed_at, created_at, lease_expires_at)
         VALUES ($1, $2, $3, $4, 'completed', 'roundtable', $5, $6, $7::timestamptz + make_interval(secs => $8), $7::timestamptz + make_interval(secs => $8 + 60),
                 $7::timestamptz + make_interval(secs => $8), $7::timestamptz + make_interval(secs => $8 + 60))`,
        [turnId, sessionId, userId, seq + 1, roster, userContent, base, seq * TURN_SPACING_S],
      );
    }
    // One statement for all messages; created_at keeps sub-millisecond digits, as in production.
    await client.query(
      `INSERT INTO messages (id, session_id, turn_id, role, agent_id, agent_key, content, visibility, created_at)
       SELECT gen_random_uuid(), $1, m.turn_id, m.role::message_role, m.agent_id, m.agent_key, m.content, m.visibility::message_visibility,
              $2::timestamptz + make_interval(secs => m.offset_s)
         FROM unnest($3::uuid[], $4::text[], $5::uuid[], $6::text[], $7::text[], $8::text[], $9::float8[])
           AS m(turn_id, role, agent_id, agent_key, content, visibility, offset_s)`,
      [
        sessionId, base,
        messages.map((m) => m.turnId), messages.map((m) => m.role), messages.map((m) => m.agentId), messages.map((m) => m.agentKey),
        messages.map((m) => m.content), messages.map((m) => m.visibility), messages.map((m) => m.offsetS),
      ],
    );
    await client.query("COMMIT");
    return { userId, sessionId, sharedMessages: messages.filter((message) => message.visibility === "shared").length };
  } catch (error) {
    await client.query("ROLLBACK");
    throw error;
  } finally {
    await client.end();
  }
}
