// The transcript benchmark's baseline: a minimal graphql-yoga server answering
// `session(id) { messages(last: n) { edges { cursor node { ... } } pageInfo { hasPreviousPage startCursor } } }`
// for one owner from one prepared SQL statement: the newest n + 1 shared
// messages of the owner's live session (the extra row says whether an older
// page exists). Run as its own process by bench/transcript.ts (argv: database
// URL, owner id, port, pool size).
import { createServer } from "node:http";
import { createSchema, createYoga } from "graphql-yoga";
import pg from "pg";

// Named, so each connection parses and plans it once.
const TRANSCRIPT_PAGE = {
  name: "transcript_page",
  text: `
    SELECT m.id, m.role, m.agent_key AS "agentKey", m.content, m.created_at AS "createdAt"
      FROM messages m JOIN sessions s ON s.id = m.session_id AND s.owner_id = $2 AND s.deleted_at IS NULL
     WHERE m.session_id = $1 AND m.visibility = 'shared'
     ORDER BY m.created_at DESC, m.id DESC
     LIMIT $3`,
};

interface MessageRow {
  id: string;
}

/** plugin-prisma's cursor for `cursor: "id"` (formatPrismaCursor): base64 of "GPC:" and the tagged string chunk "S:<id>". */
const cursorOf = (id: string) => Buffer.from(`GPC:S:${id}`).toString("base64");

async function lastMessages(sessionId: string, last: number) {
  const { rows } = await pool.query<MessageRow>({ ...TRANSCRIPT_PAGE, values: [sessionId, ownerId, last + 1] });
  const hasPreviousPage = rows.length > last;
  const edges = rows.slice(0, last).reverse().map((node) => ({ cursor: cursorOf(node.id), node }));
  return { edges, pageInfo: { hasPreviousPage, startCursor: edges[0]?.cursor ?? null } };
}

const [databaseUrl, ownerId, port, poolMax] = process.argv.slice(2) as [string, string, string, string];
const pool = new pg.Pool({ connectionString: databaseUrl, max: Number(poolMax) });
const yoga = createYoga({
  logging: false,
  schema: createSchema({
    typeDefs: `scalar DateTime
      enum MessageRole { USER AGENT SYNTHESIS SUMMARY }
      type Message { id: ID! role: MessageRole! agentKey: String content: String! createdAt: DateTime! }
      type MessageEdge { cursor: String! node: Message! }
      type PageInfo { hasPreviousPage: Boolean! startCursor: String }
      type MessageConnection { edges: [MessageEdge!]! pageInfo: PageInfo! }
      type Session { messages(last: Int!): MessageConnection! }
      type Query { session(id: ID!): Session }`,
    resolvers: {
      DateTime: { serialize: (value: Date) => value.toISOString() },
      MessageRole: { USER: "user", AGENT: "agent", SYNTHESIS: "synthesis", SUMMARY: "summary" },
      Query: { session: (_root: unknown, args: { id: string }) => ({ id: args.id }) },
      Session: { messages: (session: { id: string }, args: { last: number }) => lastMessages(session.id, args.last) },
    },
  }),
});
createServer(yoga).listen(Number(port), "127.0.0.1", () => console.log("baseline listening"));
process.once("SIGTERM", () => void pool.end().finally(() => process.exit(0)));
