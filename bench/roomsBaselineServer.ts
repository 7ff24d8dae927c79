// The rooms benchmark's baseline: a minimal graphql-yoga server answering
// `rooms(first: 20) { edges { node { id name agents { agentKey name } } } }`
// for one owner from one hand-written SQL query. Run as its own process by
// bench/rooms.ts (argv: database URL, owner id, port, pool size).
import { createServer } from "node:http";
import { createSchema, createYoga } from "graphql-yoga";
import pg from "pg";

const BASELINE_SQL = `
  SELECT r.id, r.name,
    coalesce((SELECT json_agg(json_build_object('agentKey', a.agent_key, 'name', a.name) ORDER BY ra.position)
              FROM room_agents ra JOIN agents a ON a.id = ra.agent_id AND a.deleted_at IS NULL
              WHERE ra.room_id = r.id), '[]') AS agents
  FROM rooms r WHERE r.owner_id = $1 AND r.deleted_at IS NULL
  ORDER BY r.created_at DESC, r.id DESC LIMIT 20`;

const [databaseUrl, ownerId, port, poolMax] = process.argv.slice(2);
const pool = new pg.Pool({ connectionString: databaseUrl, max: Number(poolMax) });
const yoga = createYoga({
  logging: false,
  schema: createSchema({
    typeDefs: `type Agent { agentKey: String! name: String! }
      type Room { id: ID! name: String! agents: [Agent!]! }
      type RoomEdge { node: Room! } type RoomConnection { edges: [RoomEdge!]! }
      type Query { rooms(first: Int): RoomConnection! }`,
    resolvers: { Query: { rooms: async () => ({ edges: (await pool.query(BASELINE_SQL, [ownerId])).rows.map((node) => ({ node })) }) } },
  }),
});
createServer(yoga).listen(Number(port), "127.0.0.1", () => console.log("baseline listening"));
process.once("SIGTERM", () => void pool.end().finally(() => process.exit(0)));
