// The readiness monitor's schedule: quick re-checks while a gate is closed,
// READINESS_REFRESH_MS once ready, and an open gate not closed by a lost
// database connection (only by what the check finds).
import { expect, test } from "vitest";
import { ReadinessMonitor } from "../src/gates/readiness.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function monitor(check: () => Promise<string[]>, refreshMs: number) {
  return new ReadinessMonitor({ checkMigrations: check, dependentGates: [], recheckMs: 20, refreshMs });
}

test("once ready, gates are re-checked every refreshMs: a migration problem appearing later closes the gate", async () => {
  let reasons: string[] = [];
  const readiness = monitor(async () => reasons, 100);
  try {
    await readiness.start();
    expect(readiness.isReady()).toBe(true);
    reasons = ["migration 20990101000000_x not applied"];
    await sleep(250);
    expect(readiness.migrations()).toMatchObject({ ok: false, reasons });
  } finally {
    readiness.stop();
  }
});

test("a lost database connection during a re-check leaves an open gate open", async () => {
  let fail = false;
  const readiness = monitor(async () => {
    if (fail) throw Object.assign(new Error("Connection terminated unexpectedly"), { code: "ECONNRESET" });
    return [];
  }, 30);
  try {
    await readiness.start();
    fail = true;
    await sleep(120);
    expect(readiness.migrations().ok).toBe(true);
    expect(readiness.isReady()).toBe(true);
  } finally {
    readiness.stop();
  }
});
