// The ledger journal under faults: orphaned, torn, foreign, raced and crashed
// segments. No database: the journal only buffers rows on local disk.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { appendFile, mkdtemp, open, readdir, readFile, rename, rm, stat, utimes, writeFile, type FileHandle } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { LedgerJournal, type LedgerJournalOptions } from "../src/metering/ledgerJournal.ts";

interface TestRow {
  id: string;
  n: number;
}

const DATABASE_KEY = "postgres://ledger-test/main";
const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));
const JOURNAL_MODULE = new URL("../src/metering/ledgerJournal.ts", import.meta.url).href;
/** Well past the default staleAfterMs (60 s). */
const LONG_AGO = new Date(Date.now() - 10 * 60_000);
const CRASH_ROWS = 50;
const CRASH_ACKNOWLEDGED = 20;

let dir: string;
let logs: string[];
let journals: LedgerJournal<TestRow>[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ledger-journal-"));
  logs = [];
  journals = [];
});
afterEach(async () => {
  await Promise.all(journals.map((journal) => journal.close()));
  await rm(dir, { recursive: true, force: true });
});

async function openJournal(options: Partial<LedgerJournalOptions> = {}): Promise<LedgerJournal<TestRow>> {
  const journal = await LedgerJournal.open<TestRow>({
    dir,
    databaseKey: DATABASE_KEY,
    instanceId: randomUUID(),
    log: (message) => logs.push(message),
    ...options,
  });
  journals.push(journal);
  return journal;
}

function newRows(count: number): TestRow[] {
  return Array.from({ length: count }, (_, n) => ({ id: randomUUID(), n }));
}

const ids = (rows: TestRow[]) => rows.map((row) => row.id);

/** A segment as another process would have left it; returns its path. */
async function writeSegment(header: Record<string, unknown>, lines: string[], mtime?: Date): Promise<string> {
  const instanceId = randomUUID();
  const path = join(dir, `${instanceId}.ledger.jsonl`);
  const createdAt = new Date().toISOString();
  const fullHeader = { type: "header", version: 1, databaseKey: DATABASE_KEY, instanceId, host: hostname(), pid: process.pid, createdAt, ...header };
  await writeFile(path, [JSON.stringify(fullHeader), ...lines].map((line) => `${line}\n`).join(""));
  if (mtime) await utimes(path, mtime, mtime);
  return path;
}

const rowLines = (rows: TestRow[]) => rows.map((row) => JSON.stringify({ type: "row", row }));

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""]);
  await new Promise((resolve) => child.once("exit", resolve));
  return child.pid!;
}

async function segmentRows(path: string): Promise<string[]> {
  const text = await readFile(path, "utf8");
  return text.split("\n").flatMap((line) => (line.startsWith('{"type":"row"') ? [JSON.parse(line).row.id as string] : []));
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

test("rows stay unacknowledged until acknowledged; closing an empty journal deletes its segment", async () => {
  const journal = await openJournal();
  const rows = newRows(3);
  await journal.append(rows);
  expect(journal.unacknowledged()).toEqual(rows);
  journal.acknowledge([rows[0]!.id, rows[2]!.id]);
  expect(journal.unacknowledged()).toEqual([rows[1]]);
  journal.acknowledge([rows[1]!.id]);
  expect(journal.unacknowledged()).toEqual([]);
  await journal.close();
  expect(await exists(journal.path)).toBe(false);
});

test("closing with unacknowledged rows keeps them on disk", async () => {
  const journal = await openJournal();
  const rows = newRows(3);
  await journal.append(rows);
  journal.acknowledge([rows[0]!.id]);
  await journal.close();
  const text = await readFile(journal.path, "utf8");
  expect(JSON.parse(text.split("\n")[0]!)).toMatchObject({ type: "header", version: 1, databaseKey: DATABASE_KEY, pid: process.pid });
  expect(await segmentRows(journal.path)).toEqual(ids(rows));
  expect(text).toContain(JSON.stringify({ type: "ack", ids: [rows[0]!.id] }));
});

test.each([
  { orphan: "closed by a journal of this process", make: async (rows: TestRow[]) => closedSegment(rows) },
  { orphan: "left by a dead process on this host", make: async (rows: TestRow[]) => writeSegment({ pid: await deadPid() }, rowLines(rows)) },
  { orphan: "gone stale on another host", make: (rows: TestRow[]) => writeSegment({ host: "elsewhere", pid: 1 }, rowLines(rows), LONG_AGO) },
])("adopts the unacknowledged rows of a segment $orphan", async ({ make }) => {
  const rows = newRows(4);
  const orphan = await make(rows);
  const adopter = await openJournal();
  expect(await adopter.adoptOrphans()).toEqual(rows);
  expect(adopter.unacknowledged()).toEqual(rows);
  expect(await segmentRows(adopter.path)).toEqual(ids(rows));
  expect(await exists(orphan)).toBe(false);
  expect(await adopter.adoptOrphans()).toEqual([]);
});

async function closedSegment(rows: TestRow[]): Promise<string> {
  const journal = await openJournal();
  await journal.append(rows);
  await journal.close();
  return journal.path;
}

test("live segments are left alone: an open journal here, a fresh segment of another host", async () => {
  const live = await openJournal();
  await live.append(newRows(2));
  const remote = await writeSegment({ host: "elsewhere", pid: 1 }, rowLines(newRows(2)));
  const adopter = await openJournal();
  expect(await adopter.adoptOrphans()).toEqual([]);
  expect(await exists(live.path)).toBe(true);
  expect(await exists(remote)).toBe(true);
});

test("a torn last line is skipped and the rows before it are adopted", async () => {
  const rows = newRows(3);
  const orphan = await writeSegment({ host: "elsewhere" }, rowLines(rows), LONG_AGO);
  await appendFile(orphan, '{"type":"row","row":{"id":"torn-');
  await utimes(orphan, LONG_AGO, LONG_AGO);
  const adopter = await openJournal();
  expect(await adopter.adoptOrphans()).toEqual(rows);
});

test("acknowledged rows of an orphan and rows already held here are not adopted again", async () => {
  const [held, acknowledged, pending] = newRows(3) as [TestRow, TestRow, TestRow];
  const adopter = await openJournal();
  await adopter.append([held]);
  const ackLine = JSON.stringify({ type: "ack", ids: [acknowledged.id] });
  await writeSegment({ host: "elsewhere" }, [...rowLines([held, acknowledged, pending]), ackLine], LONG_AGO);
  expect(await adopter.adoptOrphans()).toEqual([pending]);
  expect(adopter.unacknowledged()).toEqual([held, pending]);
});

test.each([
  {
    segment: "of another database",
    write: () => writeSegment({ host: "elsewhere", databaseKey: "postgres://other/db" }, rowLines(newRows(2)), LONG_AGO),
    reason: /another database/,
  },
  {
    segment: "whose header cannot be read",
    write: async () => {
      const path = join(dir, `${randomUUID()}.ledger.jsonl`);
      await writeFile(path, `{"type":"head\n${rowLines(newRows(2)).join("\n")}\n`);
      await utimes(path, LONG_AGO, LONG_AGO);
      return path;
    },
    reason: /header cannot be read/,
  },
])("a segment $segment is never adopted and is reported once", async ({ write, reason }) => {
  const path = await write();
  const adopter = await openJournal();
  expect(await adopter.adoptOrphans()).toEqual([]);
  expect(await adopter.adoptOrphans()).toEqual([]);
  expect(await exists(path)).toBe(true);
  expect(logs.filter((message) => reason.test(message))).toHaveLength(1);
});

test("two journals adopting the same orphan at once lose no row and leave no orphan file", async () => {
  const rows = newRows(40);
  const orphan = await writeSegment({ host: "elsewhere" }, rowLines(rows), LONG_AGO);
  const [first, second] = await Promise.all([openJournal(), openJournal()]);
  const [byFirst, bySecond] = await Promise.all([first.adoptOrphans(), second.adoptOrphans()]);
  expect(new Set(ids([...byFirst, ...bySecond]))).toEqual(new Set(ids(rows)));
  expect(await exists(orphan)).toBe(false);
  expect((await readdir(dir)).sort()).toEqual([basename(first.path), basename(second.path)].sort());
});

test("a SIGKILLed process's appended rows are all adopted, minus the acknowledgements it flushed", async () => {
  const rows = newRows(CRASH_ROWS);
  // .mts: the temp dir has no package.json saying "module", and the script uses top-level await.
  const script = join(dir, "crash.mts");
  await writeFile(
    script,
    `import { LedgerJournal } from ${JSON.stringify(JOURNAL_MODULE)};
const [dir, databaseKey, rowsJson, acknowledged] = process.argv.slice(2);
const rows = JSON.parse(rowsJson);
const journal = await LedgerJournal.open({ dir, databaseKey, instanceId: crypto.randomUUID() });
for (const [index, row] of rows.entries()) {
  await journal.append([row]);
  if (index < Number(acknowledged)) journal.acknowledge([row.id]);
}
process.kill(process.pid, "SIGKILL");
`,
  );
  const child = spawn(process.execPath, ["--import", "tsx", script, dir, DATABASE_KEY, JSON.stringify(rows), String(CRASH_ACKNOWLEDGED)], {
    cwd: PROJECT_ROOT,
    stdio: ["ignore", "ignore", "inherit"],
  });
  const exit = await new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  expect(exit).toEqual({ code: null, signal: "SIGKILL" });

  const adopted = ids(await (await openJournal()).adoptOrphans());
  expect(adopted.length).toBeGreaterThanOrEqual(CRASH_ROWS - CRASH_ACKNOWLEDGED);
  expect(adopted).toEqual(expect.arrayContaining(ids(rows.slice(CRASH_ACKNOWLEDGED))));
  expect(ids(rows)).toEqual(expect.arrayContaining(adopted));
});

test("concurrent appends are group-committed: one write, one fdatasync", async () => {
  const journal = await openJournal();
  const probe = await open(join(dir, "probe"), "w");
  const fileHandlePrototype = Object.getPrototypeOf(probe) as FileHandle;
  await probe.close();
  const datasync = vi.spyOn(fileHandlePrototype, "datasync");
  try {
    const rows = newRows(200);
    await Promise.all(rows.map((row) => journal.append([row])));
    expect(datasync).toHaveBeenCalledTimes(1);
    expect(await segmentRows(journal.path)).toEqual(ids(rows));
  } finally {
    datasync.mockRestore();
  }
});

test("compaction shrinks the segment and keeps unacknowledged rows for adoption", async () => {
  const compactAboveBytes = 4096;
  const journal = await openJournal({ compactAboveBytes });
  const kept: TestRow[] = [];
  for (let batch = 0; batch < 20; batch++) {
    const rows = newRows(10);
    await journal.append(rows);
    if (batch < 5) kept.push(rows[0]!);
    journal.acknowledge(ids(rows.filter((row) => !kept.includes(row))));
  }
  expect(journal.unacknowledged()).toEqual(kept);
  expect((await stat(journal.path)).size).toBeLessThan(2 * compactAboveBytes);
  expect((await segmentRows(journal.path)).length).toBeLessThan(100);
  await journal.close();
  expect(await (await openJournal()).adoptOrphans()).toEqual(kept);
});

test("compaction truncates a fully acknowledged segment back to its header", async () => {
  const journal = await openJournal({ compactAboveBytes: 1024 });
  const headerBytes = (await stat(journal.path)).size;
  const rows = newRows(30);
  await journal.append(rows);
  journal.acknowledge(ids(rows));
  await vi.waitFor(async () => expect((await stat(journal.path)).size).toBe(headerBytes));
  const later = newRows(1);
  await journal.append(later);
  expect(await segmentRows(journal.path)).toEqual(ids(later));
});

test("a segment renamed away while its journal lives is rewritten with every unacknowledged row", async () => {
  const journal = await openJournal();
  const before = newRows(2);
  await journal.append(before);
  await rename(journal.path, `${journal.path}.adopting-someone`);
  const after = newRows(1);
  await journal.append(after);
  expect(await segmentRows(journal.path)).toEqual(ids([...before, ...after]));
  const taken = () => logs.filter((message) => message.includes("was taken by another process")).length;
  expect(taken()).toBe(1);
  // The rewritten segment is the journal's own: later writes append to it, and are not taken for a theft.
  const last = newRows(1);
  await journal.append(last);
  expect(await segmentRows(journal.path)).toEqual(ids([...before, ...after, ...last]));
  expect(taken()).toBe(1);
});
