// A local, append-only, fsync'd buffer for usage-ledger rows, read as a log
// shipper's disk buffer is: append (fdatasync) → commit to PostgreSQL →
// acknowledge. A row the database never confirmed stays in a segment file
// until a later process adopts and replays it. Replay is idempotent in the
// database, so every choice here trades a possible duplicate for never a loss.
import { mkdir, open, readdir, readFile, rename, stat, type FileHandle } from "node:fs/promises";
import { basename, join } from "node:path";
import { ackLine, headerFor, isOrphaned, probeSegment, readSegment, rowLine } from "./ledgerSegment.ts";
import { isMissing, syncDirectory, unlinkIfPresent, writeFully } from "./durableFiles.ts";

export interface LedgerJournalOptions {
  /** Directory of the buffer; created if missing. */
  dir: string;
  /** Identity of the database the rows belong to; segments of another database are never adopted. */
  databaseKey: string;
  /** This process's instance id (random uuid chosen by the caller). */
  instanceId: string;
  /** A foreign segment whose file was not modified for this long is orphaned (default 60_000). */
  staleAfterMs?: number;
  /** How often the own segment's mtime is touched while open (default 10_000). */
  heartbeatMs?: number;
  /** Rewrite the own segment once it is larger than this and acknowledged rows dominate (default 1 MiB). */
  compactAboveBytes?: number;
  /** Operational messages (no row contents). */
  log?: (message: string) => void;
}

const SEGMENT_SUFFIX = ".ledger.jsonl";
const CLAIM_INFIX = ".adopting-";
const COMPACTING_SUFFIX = ".compacting";
/** `<instanceId>.ledger.jsonl`, or the same claimed by an adopter: `<instanceId>.ledger.jsonl.adopting-<adopterId>`. */
const SEGMENT_NAME = /^([A-Za-z0-9_-]+\.ledger\.jsonl)(?:\.adopting-([A-Za-z0-9_-]+))?$/;
const INSTANCE_ID = /^[A-Za-z0-9_-]+$/;
const DEFAULT_STALE_AFTER_MS = 60_000;
const DEFAULT_HEARTBEAT_MS = 10_000;
const DEFAULT_COMPACT_ABOVE_BYTES = 1024 * 1024;
const ACK_FLUSH_DELAY_MS = 100;

/** Journals open in this process: a segment with our pid but an id not in here is a previous incarnation's. */
const openInstanceIds = new Set<string>();

interface PendingAppend<Row> {
  rows: Row[];
  /** Encoded at append time, so a row that cannot be serialised fails its own call, not the batch. */
  lines: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

type Settings = Required<LedgerJournalOptions>;

/** Which file a handle or a path is. */
interface FileIdentity {
  ino: number;
  dev: number;
}

function identityOf({ ino, dev }: FileIdentity): FileIdentity {
  return { ino, dev };
}

export class LedgerJournal<Row extends { id: string }> {
  /** Rows appended or adopted and not acknowledged, in append order; includes rows still queued for writing. */
  private readonly unacked = new Map<string, Row>();
  private queue: PendingAppend<Row>[] = [];
  private queuedAcks: string[] = [];
  private ackFlushDue = false;
  private ackTimer: NodeJS.Timeout | undefined;
  private writer: Promise<void> | undefined;
  private adoption: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | undefined;
  private closed = false;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly reported = new Set<string>();
  /** Bytes and row lines in the own segment; writes are positional at `size` so a failed write can be cut off. */
  private size: number;
  private rowsInFile = 0;
  /** Durable writes of rows (one fsync each, however many rows a batch holds) and the rows they carried. */
  private readonly syncStats = { syncs: 0, rows: 0 };

  private constructor(
    private readonly settings: Settings,
    readonly path: string,
    private handle: FileHandle,
    /** The open segment's file (an open handle's file never changes): compared with what the path names. */
    private held: FileIdentity,
    private readonly header: Buffer,
  ) {
    this.size = header.length;
    openInstanceIds.add(settings.instanceId);
    this.heartbeat = setInterval(() => this.touch(), settings.heartbeatMs);
    this.heartbeat.unref();
  }

  static async open<Row extends { id: string }>(options: LedgerJournalOptions): Promise<LedgerJournal<Row>> {
    const settings = withDefaults(options);
    await mkdir(settings.dir, { recursive: true });
    const path = join(settings.dir, `${settings.instanceId}${SEGMENT_SUFFIX}`);
    const header = Buffer.from(`${JSON.stringify(headerFor(settings.databaseKey, settings.instanceId))}\n`);
    // "wx": a segment already named with our id holds someone's rows and must never be overwritten.
    const handle = await open(path, "wx");
    try {
      await writeFully(handle, header, 0);
      await handle.sync();
      await syncDirectory(settings.dir);
      return new LedgerJournal<Row>(settings, path, handle, identityOf(await handle.stat()), header);
    } catch (error) {
      await handle.close();
      await unlinkIfPresent(path);
      throw error;
    }
  }

  append(rows: Row[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error("ledger journal is closed"));
    if (rows.length === 0) return Promise.resolve();
    let lines: string;
    try {
      lines = rows.map(rowLine).join("");
    } catch (error) {
      return Promise.reject(error);
    }
    // First one wins: a row already written stays the one kept through compaction.
    for (const row of rows) if (!this.unacked.has(row.id)) this.unacked.set(row.id, row);
    return new Promise((resolve, reject) => {
      this.queue.push({ rows, lines, resolve, reject });
      this.kick();
    });
  }

  acknowledge(ids: string[]): void {
    if (this.closed) return;
    for (const id of ids) if (this.unacked.delete(id)) this.queuedAcks.push(id);
    if (this.queuedAcks.length === 0 || this.ackTimer) return;
    // A lost acknowledgement only costs an idempotent replay, so it waits for the next write or this timer.
    this.ackTimer = setTimeout(() => {
      this.ackTimer = undefined;
      this.ackFlushDue = true;
      this.kick();
    }, ACK_FLUSH_DELAY_MS);
    this.ackTimer.unref();
  }

  /** How many fsyncs made rows durable, and how many rows they carried: concurrent calls share one (metrics). */
  syncs(): { syncs: number; rows: number } {
    return { ...this.syncStats };
  }

  unacknowledged(): Row[] {
    return [...this.unacked.values()];
  }

  adoptOrphans(): Promise<Row[]> {
    if (this.closing) return Promise.reject(new Error("ledger journal is closed"));
    // One adoption at a time per journal: a new claim must never rename over our own unfinished one.
    const run = this.adoption.then(() => this.adoptAll());
    this.adoption = run.catch(() => undefined);
    return run;
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.heartbeat);
    await this.adoption;
    this.closed = true;
    this.ackFlushDue = true;
    this.kick();
    await this.writer;
    clearTimeout(this.ackTimer);
    openInstanceIds.delete(this.settings.instanceId);
    await this.handle.close();
    if (this.unacked.size === 0) await unlinkIfPresent(this.path);
    else this.settings.log(`ledger journal: closed ${this.path} with ${this.unacked.size} unacknowledged rows kept for replay`);
  }

  // --- The writer loop: the only code that writes to, compacts or replaces the own segment.

  private kick(): void {
    this.writer ??= this.drain();
  }

  private async drain(): Promise<void> {
    // Yield once so that appends made in the same tick share the first write.
    await Promise.resolve();
    while (this.queue.length > 0 || (this.ackFlushDue && this.queuedAcks.length > 0)) {
      await this.writeBatch();
      await this.compactIfDue();
    }
    this.writer = undefined;
  }

  private async writeBatch(): Promise<void> {
    const batch = this.queue.splice(0);
    const acks = this.queuedAcks.splice(0);
    this.ackFlushDue = false;
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    const rows = batch.flatMap((pending) => pending.rows);
    const bytes = Buffer.from(batch.map((pending) => pending.lines).join("") + ackLine(acks));
    const [start, rowsBefore] = [this.size, this.rowsInFile];
    try {
      await writeFully(this.handle, bytes, start);
      this.size = start + bytes.length;
      if (rows.length > 0) {
        await this.handle.datasync();
        this.syncStats.syncs += 1;
        this.syncStats.rows += rows.length;
        this.rowsInFile += rows.length;
        await this.ensureSegmentIsOurs();
      }
      for (const pending of batch) pending.resolve();
    } catch (error) {
      await this.cutOff(start, rowsBefore);
      for (const row of rows) if (this.unacked.get(row.id) === row) this.unacked.delete(row.id);
      this.queuedAcks.unshift(...acks);
      for (const pending of batch) pending.reject(error);
    }
  }

  /** Removes a failed write's partial bytes, so the next write does not continue a torn line. */
  private async cutOff(start: number, rowsBefore: number): Promise<void> {
    this.size = start;
    this.rowsInFile = rowsBefore;
    await this.handle.truncate(start).catch((error: unknown) => {
      this.settings.log(`ledger journal: could not cut off a failed write in ${this.path}: ${describe(error)}`);
    });
  }

  /**
   * An adopter renames a segment it believes orphaned; if we are in fact alive (paused, clock skew),
   * rows written after its read would sit in a file it deletes. Checked after every durable write:
   * a rename before this check is seen here, a rename after it is followed by a read that sees the rows.
   */
  private async ensureSegmentIsOurs(): Promise<void> {
    const named = await stat(this.path).catch((error: unknown) => {
      if (isMissing(error)) return null;
      throw error;
    });
    if (named && named.ino === this.held.ino && named.dev === this.held.dev) return;
    this.settings.log(`ledger journal: ${this.path} was taken by another process while open; rewriting it`);
    await this.replaceSegment(this.writtenRows());
  }

  private async compactIfDue(): Promise<void> {
    if (this.size <= this.settings.compactAboveBytes || this.rowsInFile === 0) return;
    const keep = this.writtenRows();
    try {
      if (keep.length === 0) await this.truncateToHeader();
      else if ((this.rowsInFile - keep.length) * 2 >= this.rowsInFile) await this.replaceSegment(keep);
    } catch (error) {
      this.settings.log(`ledger journal: compaction of ${this.path} failed: ${describe(error)}`);
    }
  }

  /** Unacknowledged rows already in the file (queued ones are written by the next batch, whatever happens here). */
  private writtenRows(): Row[] {
    const queued = new Set(this.queue.flatMap((pending) => pending.rows));
    return [...this.unacked.values()].filter((row) => !queued.has(row));
  }

  private async truncateToHeader(): Promise<void> {
    await this.handle.truncate(this.header.length);
    this.size = this.header.length;
    this.rowsInFile = 0;
  }

  /** Header + rows into a synced temporary file renamed over the segment: a crash leaves the old or the new file whole. */
  private async replaceSegment(rows: Row[]): Promise<void> {
    const temporary = `${this.path}${COMPACTING_SUFFIX}`;
    const content = Buffer.concat([this.header, Buffer.from(rows.map(rowLine).join(""))]);
    const handle = await open(temporary, "w");
    let held: FileIdentity;
    try {
      await writeFully(handle, content, 0);
      await handle.sync();
      held = identityOf(await handle.stat());
      await rename(temporary, this.path);
      await syncDirectory(this.settings.dir);
    } catch (error) {
      await handle.close();
      await unlinkIfPresent(temporary);
      throw error;
    }
    const previous = this.handle;
    [this.handle, this.held, this.size, this.rowsInFile] = [handle, held, content.length, rows.length];
    await previous.close().catch(() => undefined);
  }

  private touch(): void {
    const now = new Date();
    this.handle.utimes(now, now).catch((error: unknown) => {
      this.settings.log(`ledger journal: heartbeat of ${this.path} failed: ${describe(error)}`);
    });
  }

  // --- Adoption: claim (atomic rename) → read → append here (fdatasync'd) → delete.

  private async adoptAll(): Promise<Row[]> {
    const own = this.settings.instanceId;
    const segments = (await readdir(this.settings.dir)).flatMap((name) => {
      const match = SEGMENT_NAME.exec(name);
      return match && name !== basename(this.path) ? [{ name, base: match[1]!, claimer: match[2] }] : [];
    });
    // Our own unfinished claims first: a new claim of the same segment would be renamed over them.
    const ordered = [...segments.filter((s) => s.claimer === own), ...segments.filter((s) => s.claimer !== own)];
    const adopted: Row[] = [];
    for (const segment of ordered) {
      const claimed = segment.claimer === own ? join(this.settings.dir, segment.name) : await this.claim(segment);
      if (claimed) adopted.push(...(await this.adoptClaimed(claimed, segment.base)));
    }
    return adopted;
  }

  /** Renames an orphan to our claim name; losing the race (ENOENT) means another process adopts it. */
  private async claim(segment: { name: string; base: string; claimer: string | undefined }): Promise<string | null> {
    const path = join(this.settings.dir, segment.name);
    if (!(await this.isAdoptable(path, segment.claimer))) return null;
    // The claim replaces an earlier claimer's suffix, so names stay short however often adopters crash.
    const claimed = join(this.settings.dir, `${segment.base}${CLAIM_INFIX}${this.settings.instanceId}`);
    try {
      await rename(path, claimed);
      return claimed;
    } catch (error) {
      if (!isMissing(error)) this.settings.log(`ledger journal: could not claim ${segment.name}: ${describe(error)}`);
      return null;
    }
  }

  private async isAdoptable(path: string, claimer: string | undefined): Promise<boolean> {
    const name = basename(path);
    const probe = await probeSegment(path).catch((error: unknown) => {
      if (!isMissing(error)) this.reportOnce(path, `ledger journal: left ${name} alone: ${describe(error)}`);
      return null;
    });
    if (!probe) return false;
    if (!probe.header) {
      this.reportOnce(path, `ledger journal: left ${name} alone: its header cannot be read`);
      return false;
    }
    if (probe.header.databaseKey !== this.settings.databaseKey) {
      this.reportOnce(path, `ledger journal: skipped ${name}: it belongs to another database`);
      return false;
    }
    return isOrphaned(probe.header, claimer, probe.mtimeMs, this.settings.staleAfterMs, openInstanceIds);
  }

  private async adoptClaimed(claimed: string, base: string): Promise<Row[]> {
    let text: string;
    try {
      text = await readFile(claimed, "utf8");
    } catch (error) {
      if (isMissing(error)) return []; // another process claimed it from us and adopts it
      throw error;
    }
    const fresh = readSegment<Row>(text).filter((row) => !this.unacked.has(row.id));
    await this.append(fresh);
    await unlinkIfPresent(claimed);
    // A compaction temporary left by a crashed owner only repeats rows of its segment.
    await unlinkIfPresent(join(this.settings.dir, `${base}${COMPACTING_SUFFIX}`));
    this.settings.log(`ledger journal: adopted ${fresh.length} unacknowledged rows from ${basename(claimed)}`);
    return fresh;
  }

  private reportOnce(path: string, message: string): void {
    if (this.reported.has(path)) return;
    this.reported.add(path);
    this.settings.log(message);
  }
}

function withDefaults(options: LedgerJournalOptions): Settings {
  if (!INSTANCE_ID.test(options.instanceId)) throw new Error("ledger journal: instanceId must be file-name safe (a uuid)");
  const settings: Settings = {
    dir: options.dir,
    databaseKey: options.databaseKey,
    instanceId: options.instanceId,
    staleAfterMs: options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS,
    heartbeatMs: options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
    compactAboveBytes: options.compactAboveBytes ?? DEFAULT_COMPACT_ABOVE_BYTES,
    log: options.log ?? ((message) => console.warn(message)),
  };
  // Otherwise live segments would look orphaned between two heartbeats.
  if (settings.staleAfterMs <= settings.heartbeatMs) throw new RangeError("ledger journal: staleAfterMs must exceed heartbeatMs");
  return settings;
}

function describe(error: unknown): string {
  return (error as NodeJS.ErrnoException | undefined)?.code ?? String(error);
}
