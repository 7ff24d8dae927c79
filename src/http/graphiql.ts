// GraphiQL served with its assets inlined (no CDN), pre-filled with the
// whole first conversation (create → send → follow → cost) and how to get a
// token. In development every tab, new ones included, is signed in as the
// development user (a token made for each page load), so a newcomer can run
// the document at once. Subscriptions work as they are: GraphiQL follows them
// over SSE with a GET, which the CSRF guard refuses unless a header a browser
// page cannot set cross-site is present, so GraphiQL always sends one. The
// document's comments stay within 48 columns: the editor is about 50 wide
// on a 1280-pixel screen.
import type { GraphiQLOptions } from "graphql-yoga";
import type { AppConfig } from "../config/env.ts";
import { signDevToken } from "../auth/devToken.ts";

/** The user GraphiQL signs in as in development: the same one `npm run token -- --user alice` makes a token for. */
export const GRAPHIQL_DEV_USER = "alice";
const DEV_TOKEN_TTL_SECONDS = 12 * 3600;

const DEVELOPMENT_TOKEN = `# 1. You are signed in as the development user
#    alice: the Headers tab (and every new tab)
#    has her token. Another user: run
#    npm run token -- --user bob, and put
#    { "Authorization": "Bearer <token>" }
#    in Headers.`;

const PRODUCTION_TOKEN = `# 1. Put your Supabase access token in the
#    Headers tab:
#    { "Authorization": "Bearer <token>" }`;

export const JOURNEY = `# 2. Run the operations below in order (▶ asks
#    which one). Copy the ids each returns into
#    the Variables tab, e.g.
#    { "roomId": …, "adaId": …, "bobId": … }
#    Ran CreateAgents before? It answers
#    CONFLICT: MyAgents finds the ones you have.
#    Follow runs until the turn ends. GraphiQL
#    shows the latest event only: watch them
#    arrive (each agent's words, then its cost),
#    or see them all with a client
#    (docs/frontend.md).

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

query MyAgents {
  agents(first: 20) {
    edges { node { id agentKey name modelAlias } }
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
    ... on StepCompleted { agentKey stepStatus output usage { credits providerCostUsd } }
    ... on TurnCompleted { turnStatus stopReason usage { calls credits providerCostUsd } }
    ... on TurnFailed { turnError stopReason }
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
  const signedIn = config.appEnv === "development";
  const token = signedIn ? DEVELOPMENT_TOKEN : PRODUCTION_TOKEN;
  return `# Pantheon API: a council of agents, from the\n# first agent to what a turn cost.\n#\n${token}\n#    (An empty Authorization: signed out.)\n${JOURNEY}`;
}

function headers(token: string | null): string {
  return JSON.stringify({ Authorization: token ? `Bearer ${token}` : "" }, null, 2);
}

/** The page's options; in development made for each page load, with a fresh token of the development user in every tab. */
export function graphiqlOptions(config: AppConfig): GraphiQLOptions | (() => Promise<GraphiQLOptions>) {
  const base: GraphiQLOptions = {
    title: "Pantheon API",
    defaultQuery: defaultDocument(config),
    headers: headers(null),
    defaultHeaders: headers(null),
    additionalHeaders: { [CSRF_HEADER]: "graphiql" },
  };
  if (config.appEnv !== "development") return base;
  return async () => {
    const signedIn = headers(await signDevToken(config, { user: GRAPHIQL_DEV_USER, ttlSeconds: DEV_TOKEN_TTL_SECONDS }));
    return { ...base, headers: signedIn, defaultHeaders: signedIn };
  };
}
