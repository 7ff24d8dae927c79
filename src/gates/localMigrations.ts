// The migrations this build ships, with the checksum Prisma records for each:
// the SHA-256 hex digest of migration.sql's bytes.
import { createHash } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../prisma/migrations", import.meta.url));

export interface LocalMigration {
  name: string;
  /** Checksums that Prisma accepts for this file: as stored, and with its line endings flipped. */
  checksums: string[];
}

const sha256 = (content: Buffer | string) => createHash("sha256").update(content).digest("hex");

/** Prisma treats a file whose only change is CRLF ↔ LF as unchanged; so do we. */
export function acceptedChecksums(content: Buffer): string[] {
  const text = content.toString("utf8");
  const lf = text.replace(/\r\n/g, "\n");
  return [...new Set([sha256(content), sha256(lf), sha256(lf.replace(/\n/g, "\r\n"))])];
}

export async function readLocalMigrations(dir = MIGRATIONS_DIR): Promise<LocalMigration[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  const migrations: LocalMigration[] = [];
  for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const file = path.join(dir, entry.name, "migration.sql");
    const content = await fs.readFile(file).catch(() => null);
    if (content) migrations.push({ name: entry.name, checksums: acceptedChecksums(content) });
  }
  return migrations;
}
