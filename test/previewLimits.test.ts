// Metered work outside turns is bounded (SPEC 11): a previewRouting that
// asks the manager is one provider call, at most one per HTTP request
// (batches and aliases included), and counts in the per-user rate limit
// together with sent messages.
import { expect, test } from "vitest";
import { useCouncilServer } from "./support/councilServer.ts";
import { graphqlClient } from "./support/graphqlClient.ts";
import { createCouncil, send } from "./fixtures/turns.ts";
import { createTestUser } from "./fixtures/users.ts";

const LIMIT_PER_MINUTE = 3;
const harness = useCouncilServer("preview_limits", { RATE_LIMIT_TURNS_PER_MINUTE: String(LIMIT_PER_MINUTE) });

const ALIASES = 15;
const OPERATIONS = 10;

function aliasedPreviews(sessionId: string, aliases = ALIASES): string {
  const field = (alias: number) => `p${alias}: previewRouting(input: { sessionId: "${sessionId}", content: "Who answers?", runManager: true }) {
    __typename ... on PreviewRoutingSuccess { decision { __typename ... on RouteToAgents { metered } } } ... on Error { code } }`;
  return `query Previews { ${Array.from({ length: aliases }, (_, alias) => field(alias)).join("\n")} }`;
}

async function postBatch(token: string, body: unknown) {
  const response = await fetch(harness.server.graphqlUrl, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return (await response.json()) as { data?: Record<string, { __typename: string; code?: string; decision?: { metered?: boolean } }> }[];
}

test("a batch of 10 operations × 15 aliases makes one metered manager call; every other preview is VALIDATION_FAILED with nothing metered", async () => {
  const user = await createTestUser();
  const client = graphqlClient(harness.server.graphqlUrl, user.token);
  const council = await createCouncil(client, "ORCHESTRATOR", [["ada", "QWEN"]]);
  const callsBefore = harness.fake.calls.length;
  const results = await postBatch(user.token, Array.from({ length: OPERATIONS }, () => ({ query: aliasedPreviews(council.sessionId) })));

  const previews = results.flatMap((result) => Object.values(result.data ?? {}));
  expect(previews).toHaveLength(OPERATIONS * ALIASES);
  expect(previews.filter((preview) => preview.__typename === "PreviewRoutingSuccess" && preview.decision?.metered)).toHaveLength(1);
  expect(previews.filter((preview) => preview.__typename === "ValidationError")).toHaveLength(OPERATIONS * ALIASES - 1);
  expect(harness.fake.calls.length - callsBefore).toBe(1);
  expect(await harness.server.runtime.prisma.llmCallEvent.count({ where: { userId: user.id, turnId: null } })).toBe(1);
});

test("metered previews and sends share the per-user rate limit: past it, both are RATE_LIMITED and nothing is called or metered", async () => {
  const user = await createTestUser();
  const client = graphqlClient(harness.server.graphqlUrl, user.token);
  const council = await createCouncil(client, "ORCHESTRATOR", [["ada", "QWEN"]]);
  for (let preview = 0; preview < LIMIT_PER_MINUTE; preview++) {
    const [result] = await postBatch(user.token, [{ query: aliasedPreviews(council.sessionId, 1) }]);
    expect(result!.data!.p0!.__typename).toBe("PreviewRoutingSuccess");
  }
  const callsBefore = harness.fake.calls.length;
  const [limited] = await postBatch(user.token, [{ query: aliasedPreviews(council.sessionId, 1) }]);
  expect(limited!.data!.p0).toEqual({ __typename: "RateLimitedError", code: "RATE_LIMITED" });
  expect((await send(client, council.sessionId, "And a message?")).__typename).toBe("RateLimitedError");
  expect(harness.fake.calls.length).toBe(callsBefore);
  expect(await harness.server.runtime.prisma.llmCallEvent.count({ where: { userId: user.id } })).toBe(LIMIT_PER_MINUTE);
});
