// A Pantheon client a frontend can copy: it creates a council (two agents in a ROUNDTABLE room and a
// session), sends a message, and follows the turn over SSE, printing each agent's text as it streams,
// each step's cost as it completes and the turn's total at the end. Once, after the first few deltas, it
// drops the connection on purpose and resumes it with afterSequence, as a client does after a network
// blip.
//
//   npx tsx examples/conversation.ts --url http://localhost:4000/graphql --token <token>
//   (or PANTHEON_URL / PANTHEON_TOKEN; a development token: npm run token -- --user alice)
//
// Types come from examples/*.graphql through graphql-codegen's client preset (examples/generated).
// Nothing here but fetch, `print` from graphql and the generated documents.
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { print } from "graphql";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import {
  AssignAgentDocument,
  CreateAgentDocument,
  CreateRoomDocument,
  CreateSessionDocument,
  SendMessageDocument,
  TurnEventsDocument,
  type ModelAlias,
  type TurnEventsSubscription,
} from "./generated/graphql.ts";

const USAGE = `usage: npx tsx examples/conversation.ts [--url URL] [--token TOKEN] [--message TEXT] [--no-drop]
  --url      the GraphQL endpoint (or PANTHEON_URL; default http://localhost:4000/graphql)
  --token    a bearer token (or PANTHEON_TOKEN); in development: npm run token -- --user alice
  --message  what to ask the council (default: "How should we launch?")
  --no-drop  follow the turn without dropping the connection once on purpose`;

/** How many StepDelta events to read before dropping the connection on purpose. */
const DROP_AFTER_DELTAS = 3;
/** How long to stay away before resuming: long enough for a few words to stream past unseen. */
const AWAY_MS = 250;
/** Unplanned drops (network errors, a server shutting down) resumed before giving up. */
const MAX_RECONNECTS = 5;
/** A turn that has not ended by then is reported as a failure. */
const TURN_TIMEOUT_MS = 120_000;

// ---------------------------------------------------------------------------------------------------
// A small fetch-based GraphQL client.

interface GraphQLErrorBody {
  message: string;
  extensions?: { code?: string; requestId?: string; resumeAfterSequence?: number; [key: string]: unknown };
}

/** Errors outside a mutation's union (`errors[]`): UNAUTHENTICATED, NOT_READY, DATABASE_UNAVAILABLE, … */
class GraphQLResponseError extends Error {
  constructor(readonly errors: GraphQLErrorBody[]) {
    super(
      errors
        .map((error) => {
          const code = error.extensions?.code ? `${error.extensions.code}: ` : "";
          const requestId = error.extensions?.requestId ? ` (request ${error.extensions.requestId})` : "";
          return `${code}${error.message}${requestId}`;
        })
        .join("; "),
    );
  }

  get code(): string | undefined {
    return this.errors[0]?.extensions?.code;
  }
}

interface Connection {
  url: string;
  token: string;
}

function headers(connection: Connection, accept: string): Record<string, string> {
  // Content-Type application/json also satisfies the server's CSRF guard.
  return { "content-type": "application/json", accept, authorization: `Bearer ${connection.token}` };
}

/** Sends a query or mutation; resolves with its data, or throws the response's errors. */
async function request<Data, Variables>(connection: Connection, document: TypedDocumentNode<Data, Variables>, variables: Variables): Promise<Data> {
  const response = await fetch(connection.url, {
    method: "POST",
    headers: headers(connection, "application/graphql-response+json, application/json"),
    body: JSON.stringify({ query: print(document), variables }),
  });
  const body = (await response.json().catch(() => null)) as { data?: Data | null; errors?: GraphQLErrorBody[] } | null;
  if (body?.errors?.length) throw new GraphQLResponseError(body.errors);
  if (!body?.data) throw new Error(`HTTP ${response.status} ${response.statusText} from ${connection.url}`);
  return body.data;
}

// ---------------------------------------------------------------------------------------------------
// GraphQL over SSE (graphql-yoga's default "distinct connections" protocol): POST the subscription
// with Accept: text/event-stream and read the body as it arrives. Events are separated by a blank
// line; `event: next` carries `data: {"data": …}` (or `{"errors": …}`), `event: complete` ends the
// stream. Lines starting with ":" are keep-alive comments.

/** The connection ended before the server completed the stream. */
class ConnectionLost extends Error {}

/** The events of a text/event-stream body as they arrive: split on blank lines, `event:` and `data:` lines read. */
async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<{ event: string; data: string }> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
      for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = "message";
        const data: string[] = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) event = line.slice("event:".length).trim();
          else if (line.startsWith("data:")) data.push(line.slice("data:".length).replace(/^ /, ""));
        }
        yield { event, data: data.join("\n") };
      }
    }
  } finally {
    // Leaving early (break, return, an error) hangs up.
    await reader.cancel().catch(() => undefined);
  }
}

/** Yields each `next` payload's data until the server completes the stream; abort `signal` to hang up. */
async function* subscribe<Data, Variables>(
  connection: Connection,
  document: TypedDocumentNode<Data, Variables>,
  variables: Variables,
  signal: AbortSignal,
): AsyncGenerator<Data, void> {
  let response: Response;
  try {
    response = await fetch(connection.url, {
      method: "POST",
      headers: headers(connection, "text/event-stream"),
      body: JSON.stringify({ query: print(document), variables }),
      signal,
    });
  } catch (error) {
    if (signal.aborted) throw error;
    throw new ConnectionLost(`could not connect to ${connection.url}: ${messageOf(error)}`);
  }
  if (!response.ok || !response.body) {
    const body = (await response.json().catch(() => null)) as { errors?: GraphQLErrorBody[] } | null;
    if (body?.errors?.length) throw new GraphQLResponseError(body.errors);
    throw new Error(`the subscription was refused: HTTP ${response.status} ${response.statusText}`);
  }
  try {
    for await (const { event, data } of readEvents(response.body)) {
      if (event === "complete") return;
      if (event !== "next" || !data) continue;
      const payload = JSON.parse(data) as { data?: Data | null; errors?: GraphQLErrorBody[] };
      if (payload.errors?.length) throw new GraphQLResponseError(payload.errors);
      if (payload.data) yield payload.data;
    }
  } catch (error) {
    if (signal.aborted || error instanceof GraphQLResponseError) throw error;
    throw new ConnectionLost(`the connection broke: ${messageOf(error)}`);
  }
  throw new ConnectionLost("the server closed the connection before the stream completed");
}

// ---------------------------------------------------------------------------------------------------
// Mutation results are unions: the success type, or a typed error with a code and a message.

interface ErrorResult {
  __typename: string;
  code?: string;
  message?: string;
  issues?: { path: string[]; message: string }[];
  available?: string;
  required?: string;
  retryAfterSeconds?: number;
}

function success<Result extends { __typename: string }, Name extends Result["__typename"]>(
  what: string,
  result: Result,
  typename: Name,
): Extract<Result, { __typename: Name }> {
  if (result.__typename === typename) return result as Extract<Result, { __typename: Name }>;
  const error = result as ErrorResult;
  const details = [
    ...(error.issues ?? []).map((issue) => `${issue.path.join(".")}: ${issue.message}`),
    ...(error.required !== undefined ? [`required ${error.required} credits, available ${error.available}`] : []),
    ...(error.retryAfterSeconds !== undefined ? [`retry after ${error.retryAfterSeconds} s`] : []),
  ];
  throw new Error(`${what} was refused: ${error.code ?? error.__typename}: ${error.message ?? ""}${details.length ? ` (${details.join("; ")})` : ""}`);
}

// ---------------------------------------------------------------------------------------------------
// 1. A council: two agents, a ROUNDTABLE room with both, a session.

interface Council {
  sessionId: string;
  agentKeys: string[];
}

async function createCouncil(connection: Connection): Promise<Council> {
  // A random suffix: agent keys are unique per user, so a second run does not hit CONFLICT.
  const suffix = randomBytes(3).toString("hex");
  const members: { key: string; name: string; model: ModelAlias; role: string }[] = [
    { key: `ada_${suffix}`, name: "Ada", model: "QWEN", role: "You are a careful analyst." },
    { key: `bob_${suffix}`, name: "Bob", model: "DEEPSEEK", role: "You are a bold strategist." },
  ];
  console.log("Creating a council:");
  const agents: { id: string; agentKey: string }[] = [];
  for (const member of members) {
    const created = await request(connection, CreateAgentDocument, {
      input: { agentKey: member.key, name: member.name, modelAlias: member.model, rolePrompt: member.role },
    });
    const { agent } = success("createAgent", created.createAgent, "CreateAgentSuccess");
    console.log(`  agent ${agent.agentKey} (${agent.name}, ${agent.modelAlias})`);
    agents.push(agent);
  }

  const createdRoom = await request(connection, CreateRoomDocument, {
    input: { name: `Launch council ${suffix}`, goal: "Plan the product launch", mode: "ROUNDTABLE" },
  });
  const { room } = success("createRoom", createdRoom.createRoom, "CreateRoomSuccess");
  console.log(`  room "${room.name}" (${room.currentMode})`);

  let roster: string[] = [];
  for (const agent of agents) {
    const assigned = await request(connection, AssignAgentDocument, { input: { roomId: room.id, agentId: agent.id } });
    roster = success("assignAgent", assigned.assignAgent, "AssignAgentSuccess").room.agents.map((member) => member.agentKey);
  }
  console.log(`  assigned: ${roster.join(", ")}`);

  const createdSession = await request(connection, CreateSessionDocument, { input: { roomId: room.id } });
  const { session } = success("createSession", createdSession.createSession, "CreateSessionSuccess");
  console.log(`  session ${session.id}`);
  return { sessionId: session.id, agentKeys: agents.map((agent) => agent.agentKey) };
}

// ---------------------------------------------------------------------------------------------------
// 2. A message: sendMessage returns at once, with the turn RUNNING.

async function send(connection: Connection, sessionId: string, content: string): Promise<string> {
  console.log(`\nSending: "${content}"`);
  const sent = await request(connection, SendMessageDocument, { input: { sessionId, content } });
  const { turn } = success("sendMessage", sent.sendMessage, "SendMessageSuccess");
  console.log(`  turn ${turn.id} is ${turn.status} (${turn.mode})`);
  return turn.id;
}

// ---------------------------------------------------------------------------------------------------
// 3 and 4. Following the turn, with one deliberate drop and a resume.

type TurnEvent = TurnEventsSubscription["turnEvents"];
type TurnEnd = Extract<TurnEvent, { __typename: "TurnCompleted" | "TurnFailed" }>;

interface Step {
  label: string;
  /** What arrived as StepDelta events: deltas sent while disconnected are missing from it. */
  streamed: string;
}

/** Prints streamed text as it arrives: one line per stretch of a step's deltas. */
class Printer {
  private openStep: string | null = null;

  delta(stepId: string, label: string, text: string): void {
    if (this.openStep !== stepId) {
      this.endLine();
      process.stdout.write(`  ${label} › `);
      this.openStep = stepId;
    }
    process.stdout.write(text);
  }

  line(text: string): void {
    this.endLine();
    console.log(text);
  }

  private endLine(): void {
    if (this.openStep !== null) process.stdout.write("\n");
    this.openStep = null;
  }
}

function usageText(usage: { calls: number; totalTokens: number; credits: string; providerCostUsd: string }): string {
  // Decimals arrive as strings: show them as they are, never add them up as floats.
  return `${usage.credits} credits (${usage.calls} call${usage.calls === 1 ? "" : "s"}, ${usage.totalTokens} tokens, provider $${usage.providerCostUsd})`;
}

async function followTurn(connection: Connection, turnId: string, options: { drop: boolean }): Promise<TurnEnd> {
  const steps = new Map<string, Step>();
  const printer = new Printer();
  let lastSequence = 0;
  let deltasSeen = 0;
  let dropped = !options.drop;
  let reconnects = 0;
  const deadline = Date.now() + TURN_TIMEOUT_MS;

  const stepOf = (stepId: string, agentKey?: string | null): Step => {
    let step = steps.get(stepId);
    if (!step) {
      // Only when its StepStarted came before we first connected (a client that joins late).
      step = { label: agentKey ?? `step ${stepId.slice(0, 8)}`, streamed: "" };
      steps.set(stepId, step);
    }
    return step;
  };

  console.log("\nFollowing the turn over SSE:");
  for (;;) {
    if (Date.now() > deadline) throw new Error(`the turn did not end within ${TURN_TIMEOUT_MS / 1000} s`);
    const hangUp = new AbortController();
    let droppedNow = false;
    try {
      for await (const data of subscribe(connection, TurnEventsDocument, { turnId, afterSequence: lastSequence }, hangUp.signal)) {
        const event = data.turnEvents;
        lastSequence = event.sequence;
        switch (event.__typename) {
          case "TurnStarted":
            printer.line(`  turn started (${event.mode}) with ${event.roster.map((member) => `${member.agentKey} (${member.modelAlias})`).join(", ")}`);
            break;
          case "StepStarted":
            steps.set(event.stepId, { label: event.agentKey ?? event.kind.toLowerCase(), streamed: "" });
            break;
          case "StepDelta": {
            const step = stepOf(event.stepId);
            step.streamed += event.delta;
            printer.delta(event.stepId, step.label, event.delta);
            deltasSeen++;
            break;
          }
          case "StepCompleted": {
            const step = stepOf(event.stepId, event.agentKey);
            const status = event.stepStatus === "COMPLETED" ? "done" : `${event.stepStatus}${event.stepError ? `: ${event.stepError}` : ""}`;
            printer.line(`  ✓ ${step.label} ${status}, cost ${usageText(event.usage)}`);
            const output = event.output ?? "";
            if (event.stepStatus === "COMPLETED" && output !== step.streamed) {
              // Deltas sent while we were away are not replayed; StepCompleted.output has the whole text.
              const missed = output.length - step.streamed.length;
              printer.line(`    ${step.label}'s final output is complete (${missed} characters streamed while we were away): ${output}`);
            }
            break;
          }
          case "TurnCompleted":
          case "TurnFailed":
            return event;
        }
        if (!dropped && deltasSeen >= DROP_AFTER_DELTAS) {
          dropped = droppedNow = true;
          printer.line(`  ✂ dropping the connection on purpose after ${deltasSeen} deltas (last sequence ${lastSequence}); back in ${AWAY_MS} ms`);
          hangUp.abort();
          break;
        }
      }
      // The server completed the stream without an ending event: ask again from where we are.
      if (!droppedNow) throw new ConnectionLost("the stream completed before the turn ended");
    } catch (error) {
      if (droppedNow && hangUp.signal.aborted) {
        // Our own hang-up (the reader may report it as an AbortError): nothing to handle.
      } else if (error instanceof GraphQLResponseError && error.code === "SERVER_SHUTTING_DOWN") {
        // The server is going away: it says where to resume, on any instance.
        lastSequence = error.errors[0]?.extensions?.resumeAfterSequence ?? lastSequence;
        printer.line(`  the server is shutting down; resuming after sequence ${lastSequence}`);
        if (++reconnects > MAX_RECONNECTS) throw error;
      } else if (error instanceof ConnectionLost) {
        printer.line(`  connection lost (${error.message}); resuming after sequence ${lastSequence}`);
        if (++reconnects > MAX_RECONNECTS) throw error;
        await sleep(Math.min(5_000, 250 * 2 ** reconnects));
      } else {
        throw error;
      }
    }
    if (droppedNow) {
      await sleep(AWAY_MS);
      printer.line(`  ↻ resuming with afterSequence ${lastSequence}: kept events after it arrive once; deltas sent meanwhile are not replayed`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // fetch's "fetch failed" hides the reason (ECONNREFUSED, …) in `cause`.
  const cause = error.cause as { message?: string; code?: string } | undefined;
  const reason = cause?.message || cause?.code;
  return reason ? `${error.message} (${reason})` : error.message;
}

function options(): { connection: Connection; message: string; drop: boolean } {
  const { values } = parseArgs({
    options: {
      url: { type: "string" },
      token: { type: "string" },
      message: { type: "string" },
      "no-drop": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const url = values.url ?? process.env.PANTHEON_URL ?? "http://localhost:4000/graphql";
  const token = values.token ?? process.env.PANTHEON_TOKEN;
  if (!token) throw new Error(`no token: pass --token or set PANTHEON_TOKEN (in development: npm run token -- --user alice)\n${USAGE}`);
  return { connection: { url, token }, message: values.message ?? "How should we launch?", drop: !values["no-drop"] };
}

async function main(): Promise<number> {
  const { connection, message, drop } = options();
  console.log(`Pantheon at ${connection.url}\n`);
  const council = await createCouncil(connection);
  const turnId = await send(connection, council.sessionId, message);
  const end = await followTurn(connection, turnId, { drop });
  if (end.__typename === "TurnCompleted") {
    console.log(`\nTurn ${end.turnStatus} (stopReason ${end.stopReason}): total ${usageText(end.usage)}`);
    if (end.creditsAvailableAfter !== null && end.creditsAvailableAfter !== undefined) console.log(`Credits available now: ${end.creditsAvailableAfter}`);
    return 0;
  }
  console.log(`\nTurn FAILED (stopReason ${end.stopReason}): ${end.turnError}; total ${usageText(end.usage)}`);
  if (end.creditsAvailableAfter !== null && end.creditsAvailableAfter !== undefined) console.log(`Credits available now: ${end.creditsAvailableAfter}`);
  return 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`\nFailed: ${messageOf(error)}`);
    if (messageOf(error).includes("ECONNREFUSED")) console.error("Is the server running? Start it with npm start.");
    process.exitCode = 1;
  },
);
