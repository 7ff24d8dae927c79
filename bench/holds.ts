// How tight the holds are (SPEC 14), part of `npm run bench -- turns`: users
// hold conversations with roundtable councils (qwen, deepseek, llama) under
// CREDIT_ENFORCEMENT=enforce, against a provider on loopback that answers with
// English-like text of varied length (log-normal around 350 tokens) and reports
// usage at about 4 bytes per token. Prints, per provider call, what was held
// ÷ what it cost (p50, p99; target p50 ≤ 5×), and the largest hold a premium
// agent's call places once its conversation has 20 messages (the whole-turn
// worst case held 3,091 credits).
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { startServerProcess } from "../test/support/serverProcess.ts";
import { graphqlClient } from "../test/support/graphqlClient.ts";
import { signTestToken } from "../test/fixtures/users.ts";
import { createCouncil, sendAccepted, waitForTurn } from "../test/fixtures/turns.ts";
import { startFakeOpenRouter } from "../test/support/fakeOpenRouter.ts";
import { answerLengths, prose, proseHandler } from "../test/support/proseProvider.ts";

const USERS = 6;
const TURNS_PER_CONVERSATION = 8;
const PREMIUM_TURNS = 10;
const TARGET_P50 = 5;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

export async function measureHolds(databaseUrl: string, pool: pg.Pool): Promise<string[]> {
  const lengths = answerLengths(350);
  const fake = await startFakeOpenRouter(proseHandler({ answerTokens: () => lengths() }));
  const server = await startServerProcess(databaseUrl, {
    OPENROUTER_API_KEY: "sk-or-bench-fake",
    OPENROUTER_BASE_URL: fake.baseUrl,
    CREDIT_ENFORCEMENT: "enforce",
    RATE_LIMIT_TURNS_PER_MINUTE: "100000",
    RATE_LIMIT_TURNS_PER_HOUR: "1000000",
  });
  const messageLengths = answerLengths(60, 7);
  try {
    const userIds: string[] = [];
    await Promise.all(
      Array.from({ length: USERS }, async (_, index) => {
        const userId = randomUUID();
        userIds.push(userId);
        const client = graphqlClient(server.graphqlUrl, await signTestToken({ sub: userId }));
        const council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"], ["bob", "DEEPSEEK"], ["cyd", "LLAMA"]]);
        for (let turn = 0; turn < TURNS_PER_CONVERSATION; turn++) {
          await waitForTurn(client, await sendAccepted(client, council.sessionId, prose(messageLengths(), index + turn)));
        }
      }),
    );
    const { rows } = await pool.query<{ ratio: number }>(
      "SELECT (hold_credits / credits_burned)::float8 AS ratio FROM llm_call_events WHERE user_id = ANY($1::uuid[]) AND credits_burned > 0 AND hold_credits IS NOT NULL",
      [userIds],
    );
    const ratios = rows.map((row) => row.ratio);
    const p50 = percentile(ratios, 50);

    const premiumUser = randomUUID();
    const premium = graphqlClient(server.graphqlUrl, await signTestToken({ sub: premiumUser }));
    const council = await createCouncil(premium, "ROUNDTABLE", [["sage", "PREMIUM"]]);
    for (let turn = 0; turn < PREMIUM_TURNS; turn++) await waitForTurn(premium, await sendAccepted(premium, council.sessionId, prose(messageLengths(), turn)));
    const next = await waitForTurn(premium, await sendAccepted(premium, council.sessionId, prose(messageLengths(), 99)));
    const { rows: held } = await pool.query<{ largest: string; cost: string }>(
      "SELECT max(hold_credits)::text AS largest, sum(credits_burned)::text AS cost FROM llm_call_events WHERE turn_id = $1",
      [next.id],
    );
    return [
      `holds     hold ÷ cost per call over ${ratios.length} calls (${USERS} conversations × ${TURNS_PER_CONVERSATION} turns, qwen/deepseek/llama, answers ~350 tokens): ` +
        `p50 ${p50.toFixed(2)}×, p99 ${percentile(ratios, 99).toFixed(2)}× (target p50 <= ${TARGET_P50}×): ${p50 <= TARGET_P50 ? "met" : "NOT met"}`,
      `premium   after ${PREMIUM_TURNS * 2} messages the next call holds ${held[0]!.largest} credits and costs ${held[0]!.cost} (the whole-turn hold was 3,091)`,
    ];
  } finally {
    await server.stop();
    await fake.close();
  }
}
