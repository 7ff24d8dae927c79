// The format of a ledger buffer segment (one JSON object per line: a
// header naming the database and the writing process, then row and ack
// lines) and the rule that says when a segment's writer is gone.
import { open } from "node:fs/promises";
import { hostname } from "node:os";

const FORMAT_VERSION = 1;
/** Enough for any header line; foreign segments are probed, not read whole, while their owner may be alive. */
const HEADER_PROBE_BYTES = 64 * 1024;

export interface SegmentHeader {
  type: "header";
  version: number;
  databaseKey: string;
  instanceId: string;
  host: string;
  pid: number;
  createdAt: string;
}

export function headerFor(databaseKey: string, instanceId: string): SegmentHeader {
  const createdAt = new Date().toISOString();
  return { type: "header", version: FORMAT_VERSION, databaseKey, instanceId, host: hostname(), pid: process.pid, createdAt };
}

/** A previous owner that can no longer write: gone quiet, or (same host) a dead or earlier-incarnation process. */
export function isOrphaned(header: SegmentHeader, claimer: string | undefined, mtimeMs: number, staleAfterMs: number, openInstanceIds: ReadonlySet<string>): boolean {
  // A claim by a journal of this process is in progress (a claimed file keeps its old, stale-looking mtime).
  if (claimer !== undefined && openInstanceIds.has(claimer)) return false;
  if (Date.now() - mtimeMs > staleAfterMs) return true;
  if (header.host !== hostname()) return false;
  if (header.pid === process.pid) return !openInstanceIds.has(header.instanceId);
  return !isProcessAlive(header.pid);
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, owned by another user.
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

export async function probeSegment(path: string): Promise<{ header: SegmentHeader | null; mtimeMs: number }> {
  const handle = await open(path, "r");
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(HEADER_PROBE_BYTES), 0, HEADER_PROBE_BYTES, 0);
    const text = buffer.toString("utf8", 0, bytesRead);
    const newline = text.indexOf("\n");
    const header = newline < 0 ? null : asHeader(parseLine(text.slice(0, newline)));
    return { header, mtimeMs: (await handle.stat()).mtimeMs };
  } finally {
    await handle.close();
  }
}

/** The unacknowledged rows of a segment, first occurrence of each id, in order. */
export function readSegment<Row extends { id: string }>(text: string): Row[] {
  const rows = new Map<string, Row>();
  const acknowledged = new Set<string>();
  // The header is line one; a torn line (a crash mid-write) parses to nothing and is skipped.
  for (const line of text.split("\n").slice(1)) {
    const entry = parseLine(line) as { type?: unknown; row?: { id?: unknown }; ids?: unknown } | null | undefined;
    if (entry?.type === "row" && typeof entry.row?.id === "string" && !rows.has(entry.row.id)) {
      rows.set(entry.row.id, entry.row as Row);
    } else if (entry?.type === "ack" && Array.isArray(entry.ids)) {
      for (const id of entry.ids) if (typeof id === "string") acknowledged.add(id);
    }
  }
  return [...rows.values()].filter((row) => !acknowledged.has(row.id));
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

function asHeader(value: unknown): SegmentHeader | null {
  const header = value as Partial<SegmentHeader> | null | undefined;
  const valid =
    header?.type === "header" &&
    header.version === FORMAT_VERSION &&
    typeof header.databaseKey === "string" &&
    typeof header.instanceId === "string" &&
    typeof header.host === "string" &&
    Number.isSafeInteger(header.pid) &&
    (header.pid ?? 0) > 0;
  return valid ? (header as SegmentHeader) : null;
}

export function rowLine(row: { id: string }): string {
  return `${JSON.stringify({ type: "row", row })}\n`;
}

export function ackLine(ids: string[]): string {
  return ids.length > 0 ? `${JSON.stringify({ type: "ack", ids })}\n` : "";
}
