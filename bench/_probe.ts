import { randomUUID } from "node:crypto";
import { createMigratedDatabase } from "/work/main/test/support/database.ts";
import { startTestServer } from "/work/main/test/support/server.ts";
import { graphqlClient } from "/work/main/test/support/graphqlClient.ts";
import { subscribe } from "/work/main/test/support/sse.ts";
import { signTestToken } from "/work/main/test/fixtures/users.ts";
import { createCouncil, sendAccepted } from "/work/main/test/fixtures/turns.ts";
import { TurnEventsDocument } from "/work/main/test/generated/graphql.ts";
const db = await createMigratedDatabase("probe");
const server = await startTestServer(db.url, { RATE_LIMIT_TURNS_PER_MINUTE: "100000", RATE_LIMIT_TURNS_PER_HOUR: "1000000" });
const token = await signTestToken({ sub: randomUUID() });
const client = graphqlClient(server.graphqlUrl, token);
const council = await createCouncil(client, "ROUNDTABLE", [["ada", "QWEN"], ["bob", "DEEPSEEK"], ["cyd", "LLAMA"]]);
for (let i = 0; i < 40; i++) {
  const t0 = performance.now();
  const turnId = await sendAccepted(client, council.sessionId, "How?");
  const t1 = performance.now();
  const ev = await subscribe(server.graphqlUrl, token, TurnEventsDocument, { turnId, afterSequence: 0 }, (d) => d.turnEvents).done;
  const t2 = performance.now();
  const turn = await server.runtime.prisma.turn.findUnique({ where: { id: turnId } });
  if (i > 35) console.log(`send ${(t1 - t0).toFixed(1)} ms, events ${(t2 - t1).toFixed(1)} ms (${ev.length}), run ${turn!.completedAt!.getTime() - turn!.startedAt.getTime()} ms`);
}
await server.close(); await db.drop();
