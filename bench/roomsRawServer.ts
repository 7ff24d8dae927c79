// The rooms benchmark's hardware baseline: plain node:http and pg, no GraphQL,
// sending the JSON the GraphQL servers send for the page of rooms, from the
// same prepared statement (bench/roomsBaselineSql.ts). It reads the whole
// request body, as a server must, and ignores it: what it measures is the
// cost of HTTP, the database round trip and JSON, the floor under any API.
// Run as its own process by bench/rooms.ts (argv: database URL, owner id, port, pool size).
import { createServer } from "node:http";
import pg from "pg";
import { ROOMS_PAGE, type RoomRow } from "./roomsBaselineSql.ts";

const [databaseUrl, ownerId, port, poolMax] = process.argv.slice(2);
const pool = new pg.Pool({ connectionString: databaseUrl, max: Number(poolMax) });

const server = createServer((request, response) => {
  request.resume();
  request.once("end", () => {
    pool.query<RoomRow>({ ...ROOMS_PAGE, values: [ownerId] }).then(
      ({ rows }) => {
        const body = JSON.stringify({ data: { rooms: { edges: rows.map((node) => ({ node })) } } });
        response.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) });
        response.end(body);
      },
      (error: unknown) => {
        response.writeHead(500).end(String(error));
      },
    );
  });
});
server.listen(Number(port), "127.0.0.1", () => console.log("baseline listening"));
process.once("SIGTERM", () => void pool.end().finally(() => process.exit(0)));
