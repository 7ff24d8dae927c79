// The turns benchmark's users: sendMessage and the turnEvents stream over
// node:http with keep-alive connections. The load generator shares the
// machine's two cores with the server and PostgreSQL, so it is kept as light
// as a client can be (fetch costs several times more CPU per request); the
// documents are the same typed operations the tests use.
import { randomUUID } from "node:crypto";
import { Agent, request } from "node:http";
import { print } from "graphql";
import { SendMessageDocument, TurnEventsDocument } from "../test/generated/graphql.ts";
import { graphqlClient } from "../test/support/graphqlClient.ts";
import { signTestToken } from "../test/fixtures/users.ts";
import { createCouncil } from "../test/fixtures/turns.ts";

const SEND_MESSAGE = print(SendMessageDocument);
const TURN_EVENTS = print(TurnEventsDocument);

export interface LeanUser {
  token: string;
  sessionId: string;
}

export interface BenchUser extends LeanUser {
  /** users.id: the token's subject. */
  userId: string;
  roomId: string;
}

/** A new user with the benches' council (ada, bob and cyd in a roundtable on three models) and a session in it. */
export async function createBenchUser(graphqlUrl: string): Promise<BenchUser> {
  const userId = randomUUID();
  const token = await signTestToken({ sub: userId });
  const council = await createCouncil(graphqlClient(graphqlUrl, token), "ROUNDTABLE", [["ada", "QWEN"], ["bob", "DEEPSEEK"], ["cyd", "LLAMA"]]);
  return { token, userId, roomId: council.roomId, sessionId: council.sessionId };
}

function post(agent: Agent, url: URL, token: string, body: string, accept: string, onChunk: (chunk: string) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), accept, authorization: `Bearer ${token}` },
      },
      (response) => {
        response.setEncoding("utf8");
        response.on("data", onChunk);
        response.on("end", () => resolve(response.statusCode ?? 0));
        response.on("error", reject);
      },
    );
    outgoing.on("error", reject);
    outgoing.end(body);
  });
}

/** Sends a message that must be accepted; returns the turn id. */
export async function sendMessage(agent: Agent, url: URL, user: LeanUser, content: string): Promise<string> {
  let text = "";
  const status = await post(agent, url, user.token, JSON.stringify({ query: SEND_MESSAGE, variables: { input: { sessionId: user.sessionId, content } } }), "application/graphql-response+json", (chunk) => (text += chunk));
  const result = (JSON.parse(text) as { data?: { sendMessage?: { __typename: string; turn?: { id: string } } } }).data?.sendMessage;
  if (status !== 200 || result?.__typename !== "SendMessageSuccess" || !result.turn) throw new Error(`sendMessage failed (${status}): ${text.slice(0, 300)}`);
  return result.turn.id;
}

/** Follows the turn's events to the end; returns how many events arrived, after checking the last one ends the turn. */
export async function followTurn(agent: Agent, url: URL, user: LeanUser, turnId: string): Promise<number> {
  let buffer = "";
  let events = 0;
  let last = "";
  const status = await post(agent, url, user.token, JSON.stringify({ query: TURN_EVENTS, variables: { turnId, afterSequence: 0 } }), "text/event-stream", (chunk) => {
    buffer += chunk;
    let boundary = buffer.indexOf("\n\n");
    while (boundary !== -1) {
      const block = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      if (block.startsWith("event: next")) {
        events++;
        last = block;
      }
      boundary = buffer.indexOf("\n\n");
    }
  });
  if (status !== 200 || !last.includes('"__typename":"TurnCompleted"')) throw new Error(`turn ${turnId} did not complete over SSE (${status}): ${last.slice(0, 300)}`);
  return events;
}

export function userAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 2 });
}
