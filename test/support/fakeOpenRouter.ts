// A loopback HTTP server speaking OpenRouter's chat completions protocol
// (SSE chunks, usage block with cached tokens and cost, error statuses), so
// the real client and the real server are tested against the real wire format.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";

export interface FakeCall {
  index: number;
  authorization: string | undefined;
  body: {
    model: string;
    messages: { role: string; content: string }[];
    stream?: boolean;
    response_format?: { type: string; json_schema: { name: string; schema: Record<string, unknown> } };
    [key: string]: unknown;
  };
}

export interface FakeUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens?: number;
  cached_tokens?: number;
  cost?: number;
}

/** A streamed reply is written in pieces of this many characters, one chunk each. */
export const STREAM_PIECE_LENGTH = 12;

export type FakeReply =
  | {
      kind: "stream";
      content: string;
      usage: FakeUsage;
      chunkDelayMs?: number;
      id?: string;
      /** Called as each piece is written, not before: a piece can carry the time it left (bench/fanout.ts). */
      rewritePiece?: (piece: string) => string;
    }
  | { kind: "json"; content: string; usage: FakeUsage; id?: string }
  | { kind: "status"; status: number; headers?: Record<string, string>; body?: unknown }
  | { kind: "raw"; contentType: string; body: string }
  | { kind: "hang" };

export type FakeHandler = (call: FakeCall) => FakeReply | Promise<FakeReply>;

export interface FakeOpenRouter {
  baseUrl: string;
  calls: FakeCall[];
  /** Calls whose response was fully written. */
  completed: number;
  /** The generation ids of the successful answers fully written, in order (the ledger's request_id). */
  answeredIds: string[];
  setHandler(handler: FakeHandler): void;
  close(): Promise<void>;
}

function usageBlock(usage: FakeUsage) {
  return {
    prompt_tokens: usage.prompt_tokens,
    completion_tokens: usage.completion_tokens,
    total_tokens: usage.total_tokens ?? usage.prompt_tokens + usage.completion_tokens,
    ...(usage.cached_tokens === undefined ? {} : { prompt_tokens_details: { cached_tokens: usage.cached_tokens } }),
    ...(usage.cost === undefined ? {} : { cost: usage.cost }),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function writeStream(response: ServerResponse, reply: Extract<FakeReply, { kind: "stream" }>, model: string): Promise<string> {
  const id = reply.id ?? `gen-${randomUUID()}`;
  response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  response.write(": OPENROUTER PROCESSING\n\n");
  const pieces = reply.content.match(new RegExp(`[\\s\\S]{1,${STREAM_PIECE_LENGTH}}`, "g")) ?? [];
  for (const piece of pieces) {
    const content = reply.rewritePiece ? reply.rewritePiece(piece) : piece;
    const chunk = { id, object: "chat.completion.chunk", model, choices: [{ index: 0, delta: { role: "assistant", content }, finish_reason: null }] };
    response.write(`data: ${JSON.stringify(chunk)}\n\n`);
    if (reply.chunkDelayMs) await sleep(reply.chunkDelayMs);
  }
  const last = { id, object: "chat.completion.chunk", model, choices: [{ index: 0, delta: {}, finish_reason: "stop" }], usage: usageBlock(reply.usage) };
  response.write(`data: ${JSON.stringify(last)}\n\n`);
  await new Promise<void>((resolve) => response.end("data: [DONE]\n\n", () => resolve()));
  return id;
}

/** Writes the reply; returns whether it was written, and the generation id of a successful answer. */
async function respond(response: ServerResponse, reply: FakeReply, model: string): Promise<{ written: boolean; answeredId: string | null }> {
  switch (reply.kind) {
    case "stream":
      return { written: true, answeredId: await writeStream(response, reply, model) };
    case "json": {
      const body = { id: reply.id ?? `gen-${randomUUID()}`, model, choices: [{ index: 0, message: { role: "assistant", content: reply.content }, finish_reason: "stop" }], usage: usageBlock(reply.usage) };
      await new Promise<void>((resolve) => response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body), () => resolve()));
      return { written: true, answeredId: body.id };
    }
    case "status":
      response.writeHead(reply.status, { "content-type": "application/json", ...reply.headers }).end(JSON.stringify(reply.body ?? { error: { code: reply.status, message: "fake failure" } }));
      return { written: true, answeredId: null };
    case "raw":
      response.writeHead(200, { "content-type": reply.contentType }).end(reply.body);
      return { written: true, answeredId: null };
    case "hang":
      return { written: false, answeredId: null };
  }
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startFakeOpenRouter(initial: FakeHandler): Promise<FakeOpenRouter> {
  let handler = initial;
  const state = { calls: [] as FakeCall[], completed: 0, answeredIds: [] as string[] };
  const server: Server = createServer(async (request, response) => {
    const body = JSON.parse(await readBody(request)) as FakeCall["body"];
    const call: FakeCall = { index: state.calls.length, authorization: request.headers.authorization, body };
    state.calls.push(call);
    const reply = await handler(call);
    const { written, answeredId } = await respond(response, reply, body.model);
    if (written) state.completed += 1;
    if (answeredId) state.answeredIds.push(answeredId);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/api/v1`,
    get calls() {
      return state.calls;
    },
    get completed() {
      return state.completed;
    },
    get answeredIds() {
      return state.answeredIds;
    },
    setHandler(next) {
      handler = next;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
