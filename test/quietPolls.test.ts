// A quiet turn is read once per interval on an instance, however many
// subscribers follow it: idle subscribers cost the database nothing each.
import { expect, test } from "vitest";
import { QuietPolls } from "../src/turns/quietPolls.ts";

const INTERVAL_MS = 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("a thousand followers of a quiet turn share one read per interval, from the slowest follower's sequence, and the poll stops when the last leaves", async () => {
  const reads: { turnId: string; after: number }[] = [];
  const polls = new QuietPolls(async (turnId, after) => (reads.push({ turnId, after }), `events after ${after}`), INTERVAL_MS);
  const followers = Array.from({ length: 1000 }, (_, index) => polls.join("turn-a", 300_000 + index));
  followers[500]!.last = 200_000;

  await sleep(INTERVAL_MS * 2.5);
  expect(reads).toEqual([
    { turnId: "turn-a", after: 200_000 },
    { turnId: "turn-a", after: 200_000 },
  ]);
  expect(polls.size).toBe(1);
  for (const follower of followers) {
    expect(await follower.polled).toEqual({ ok: true, value: "events after 200000" });
  }

  for (const follower of followers) follower.leave();
  expect(polls.size).toBe(0);
  await sleep(INTERVAL_MS * 2);
  expect(reads).toHaveLength(2);
});

test("a live event postpones the poll; a failed read reaches every follower as an error", async () => {
  let failing = false;
  let reads = 0;
  const polls = new QuietPolls(async () => {
    reads += 1;
    if (failing) throw new Error("database away");
    return "ok";
  }, INTERVAL_MS);
  const first = polls.join("turn-b", 0);
  const second = polls.join("turn-b", 0);

  for (let index = 0; index < 5; index++) {
    await sleep(INTERVAL_MS / 2);
    first.heard();
  }
  expect(reads).toBe(0);

  failing = true;
  await sleep(INTERVAL_MS * 1.5);
  expect(reads).toBe(1);
  for (const follower of [first, second]) {
    const polled = await follower.polled;
    expect(polled.ok).toBe(false);
    follower.consumed();
  }
  first.leave();
  second.leave();
});
