// GraphiQL served with its assets inlined (no CDN), pre-filled with the
// whole first conversation (create → send → follow → cost) and how to get a
// token. Subscriptions work as they are: GraphiQL follows them over SSE with
// a GET, which the CSRF guard refuses unless a header a browser page cannot
// set cross-site is present, so GraphiQL always sends one.
import type { GraphiQLOptions } from "graphql-yoga";
import type { AppConfig } from "../config/env.ts";

const DEVELOPMENT_TOKEN = `# 1. Get a token (development):   npm run token -- --user alice
#    and put it in the Headers tab:  { "Authorization": "Bearer <token>" }`;

const PRODUCTION_TOKEN = `# 1. Put your Supabase access token in the Headers tab:
#    { "Authorization": "Bearer <token>" }`;

export const JOURNEY = `# 2. Run the operations below in order (▶ asks which one). Copy the ids each
#    returns into the Variables tab, e.g. { "roomId": "…", "adaId": "…", "bobId": "…" }.
#    Follow runs until the turn ends: each agent's answer streams in, and each
#    step's cost arrives with StepCompleted.

mutation CreateAgents {
  ada: createAgent(input: { agentKey: "ada", name: "Ada", modelAlias: QWEN, rolePrompt: "You are a careful analyst." }) {
    ... on CreateAgentSuccess { agent { id agentKey } }
    ... on Error { code message }
  }
  bob: createAgent(input: { agentKey: "bob", name: "Bob", modelAlias: DEEPSEEK, rolePrompt: "You are a bold strategist." }) {
    ... on CreateAgentSuccess { agent { id agentKey } }
    ... on Error { code message }
  }
}

mutation CreateRoom {
  createRoom(input: { name: "Launch council", goal: "Plan the product launch", mode: ROUNDTABLE }) {
    ... on CreateRoomSuccess { room { id name currentMode } }
    ... on Error { code message }
  }
}

mutation AssignAgents($roomId: ID!, $adaId: ID!, $bobId: ID!) {
  first: assignAgent(input: { roomId: $roomId, agentId: $adaId }) {
    ... on AssignAgentSuccess { room { agents { agentKey } } }
    ... on Error { code message }
  }
  second: assignAgent(input: { roomId: $roomId, agentId: $bobId }) {
    ... on AssignAgentSuccess { room { agents { agentKey } } }
    ... on Error { code message }
  }
}

mutation StartSession($roomId: ID!) {
  createSession(input: { roomId: $roomId }) {
    ... on CreateSessionSuccess { session { id } }
    ... on Error { code message }
  }
}

mutation Send($sessionId: ID!) {
  sendMessage(input: { sessionId: $sessionId, content: "How should we launch?" }) {
    ... on SendMessageSuccess { turn { id status mode } }
    ... on Error { code message }
  }
}

subscription Follow($turnId: ID!) {
  turnEvents(turnId: $turnId) {
    __typename
    ... on TurnProgressEvent { sequence }
    ... on StepStarted { agentKey modelAlias }
    ... on StepDelta { delta }
    ... on StepCompleted { stepStatus output usage { credits providerCostUsd } }
    ... on TurnCompleted { turnStatus usage { calls credits providerCostUsd } }
    ... on TurnFailed { turnError }
  }
}

query Cost($turnId: ID!) {
  turn(id: $turnId) {
    status
    steps { agentKey status output }
    usageTotals { calls credits providerCostUsd }
  }
}

query Conversations {
  viewer {
    sessions(first: 10) {
      edges { node { id title lastMessagePreview turnCount lastActivityAt } }
    }
  }
}
`;

/** The header the CSRF guard looks for (src/http/hardening.ts). */
export const CSRF_HEADER = "x-graphql-yoga-csrf";

function defaultDocument(config: AppConfig): string {
  const token = config.isProduction ? PRODUCTION_TOKEN : DEVELOPMENT_TOKEN;
  return `# Pantheon API: a council of agents, from the first agent to what a turn cost.\n#\n${token}\n#    (an empty Authorization header means signed out)\n${JOURNEY}`;
}

export function graphiqlOptions(config: AppConfig): GraphiQLOptions {
  return {
    title: "Pantheon API",
    defaultQuery: defaultDocument(config),
    headers: JSON.stringify({ Authorization: "" }, null, 2),
    additionalHeaders: { [CSRF_HEADER]: "graphiql" },
  };
}
