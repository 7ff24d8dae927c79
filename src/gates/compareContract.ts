// Compares a live table with its contract; each difference is one
// human-readable reason naming the column, foreign key or index.
import { normalizeDefault, normalizePredicate, normalizeType, type TableContract } from "./ledgerContract.ts";
import type { LiveTable } from "./introspectTable.ts";

const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((value, i) => value === b[i]);

export function compareTableContract(contract: TableContract, live: LiveTable): string[] {
  const { table } = contract;
  if (!live.exists) return [`table ${table} missing`];
  return [...columnReasons(contract, live), ...foreignKeyReasons(contract, live), ...indexReasons(contract, live)];
}

function columnReasons(contract: TableContract, live: LiveTable): string[] {
  const reasons: string[] = [];
  const byName = new Map(live.columns.map((column) => [column.name, column]));
  for (const expected of contract.columns) {
    const actual = byName.get(expected.name);
    const where = `column ${contract.table}.${expected.name}`;
    if (!actual) {
      reasons.push(`${where} missing`);
      continue;
    }
    if (normalizeType(actual.type) !== expected.type) reasons.push(`${where} has type ${actual.type}, expected ${expected.type}`);
    if (actual.nullable !== expected.nullable) {
      reasons.push(`${where} is ${actual.nullable ? "nullable" : "NOT NULL"}, expected ${expected.nullable ? "nullable" : "NOT NULL"}`);
    }
    if (expected.default !== undefined && normalizeDefault(actual.default ?? "") !== expected.default) {
      reasons.push(`${where} has default ${actual.default ?? "none"}, expected ${expected.default}`);
    }
  }
  const primary = live.indexes.find((index) => index.primary);
  if (!primary || !sameList(primary.columns, contract.primaryKey)) {
    reasons.push(`primary key of ${contract.table} is not (${contract.primaryKey.join(", ")})`);
  }
  return reasons;
}

function foreignKeyReasons(contract: TableContract, live: LiveTable): string[] {
  const reasons: string[] = [];
  for (const expected of contract.foreignKeys) {
    const where = `foreign key ${contract.table}.${expected.column}`;
    const actual = live.foreignKeys.find((fk) => sameList(fk.columns, [expected.column]));
    if (!actual) {
      reasons.push(`${where} → ${expected.targetTable}(${expected.targetColumn}) missing`);
      continue;
    }
    if (actual.targetTable !== expected.targetTable || !sameList(actual.targetColumns, [expected.targetColumn])) {
      reasons.push(`${where} references ${actual.targetTable}(${actual.targetColumns.join(", ")}), expected ${expected.targetTable}(${expected.targetColumn})`);
    }
    if (actual.onDelete !== expected.onDelete) reasons.push(`${where} is ON DELETE ${actual.onDelete}, expected ON DELETE ${expected.onDelete}`);
  }
  for (const column of contract.noForeignKey) {
    if (live.foreignKeys.some((fk) => fk.columns.includes(column))) {
      reasons.push(`column ${contract.table}.${column} must have no foreign key (it is a snapshot)`);
    }
  }
  return reasons;
}

function indexReasons(contract: TableContract, live: LiveTable): string[] {
  const reasons: string[] = [];
  const byName = new Map(live.indexes.map((index) => [index.name, index]));
  for (const expected of contract.indexes) {
    const actual = byName.get(expected.name);
    const where = `index ${expected.name}`;
    if (!actual) {
      reasons.push(`${where} missing`);
      continue;
    }
    if (!sameList(actual.columns, expected.columns)) {
      reasons.push(`${where} is on (${actual.columns.join(", ")}), expected (${expected.columns.join(", ")})`);
    }
    if (actual.unique !== expected.unique) reasons.push(`${where} is ${actual.unique ? "" : "not "}unique, expected ${expected.unique ? "" : "not "}unique`);
    const predicate = actual.predicate ? normalizePredicate(actual.predicate) : undefined;
    if (predicate !== expected.predicate) {
      reasons.push(`${where} has predicate ${predicate ? `WHERE ${predicate}` : "none"}, expected ${expected.predicate ? `WHERE ${expected.predicate}` : "none"}`);
    }
    if (!actual.valid) reasons.push(`${where} is invalid (a concurrent build failed)`);
  }
  return reasons;
}
