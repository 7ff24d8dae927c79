// The rooms benchmark's GraphQL baseline: a minimal graphql-yoga server
// answering `rooms(first: 20) { edges { node { id name agents { agentKey name } } } }`
// for one owner from the one prepared statement (bench/roomsBaselineSql.ts).
// Run as its own process by bench/rooms.ts (argv: database URL, owner id, port, pool size).
import { createServer } from "node:http";
import { createSchema, createYoga } from "graphql-yoga";
import pg from "pg";
import { ROOMS_PAGE, type RoomRow } from "./roomsBaselineSql.ts";

const [databaseUrl, ownerId, port, poolMax] = process.argv.slice(2);
const pool = new pg.Pool({ connectionString: databaseUrl, max: Number(poolMax) });
const yoga = createYoga({
  logging: false,
  schema: createSchema({
    typeDefs: `type Agent { agentKey: String! name: String! }
      type Room { id: ID! name: String! agents: [Agent!]! }
      type RoomEdge { node: Room! } type RoomConnection { edges: [RoomEdge!]! }
      type Query { rooms(first: Int): RoomConnection! }`,
    resolvers: { Query: { rooms: async () => ({ edges: (await pool.query<RoomRow>({ ...ROOMS_PAGE, values: [ownerId] })).rows.map((node) => ({ node })) }) } },
  }),
});
createServer(yoga).listen(Number(port), "127.0.0.1", () => console.log("baseline listening"));
process.once("SIGTERM", () => void pool.end().finally(() => process.exit(0)));
