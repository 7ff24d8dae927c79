// `npm run check`: the env contract and every gate against the configured
// database, without starting the server. Exits 1 when a required gate fails.
import { parseCliArgs } from "./args.ts";
import { loadConfigOrExit, withDirectConnection } from "./database.ts";
import { checkMigrationGate } from "../gates/migrationGate.ts";
import { checkRoutingGate } from "../gates/routingGate.ts";
import { checkKeyRotationGate } from "../gates/keyRotationGate.ts";

interface Line {
  gate: string;
  required: boolean;
  reasons: string[];
}

function print(line: Line): void {
  const state = line.reasons.length === 0 ? "ok" : line.required ? "FAIL" : "not ok (not required at this stage)";
  console.log(`${line.gate}: ${state}`);
  for (const reason of line.reasons) console.log(`  - ${reason}`);
}

parseCliArgs(
  "usage: npm run check\n  Checks the env contract and every gate (A migrations, B routing, C key rotation) against DATABASE_URL,\n  or the embedded database without it. Exit 0 when every required gate passes, 1 otherwise.",
  {},
);
const config = loadConfigOrExit();
console.log(`env: ok (APP_ENV=${config.appEnv}, ROLLOUT_STAGE=${config.rolloutStage ?? "unset"})`);
if (config.database) console.log(`  runtime pool: DATABASE_POOL_MODE=${config.database.poolMode}${config.database.poolMode === "transaction" ? " (unnamed statements, no session state)" : " (prepared statements)"}`);

const lines = await withDirectConnection(config, async (db) => {
  const migrations: Line = { gate: "migrations (Gate A)", required: true, reasons: await checkMigrationGate(db) };
  if (migrations.reasons.length > 0) return [migrations];
  return [
    migrations,
    { gate: "routing (Gate B)", required: false, reasons: await checkRoutingGate(db) },
    {
      gate: "keyRotation (Gate C)",
      required: config.rolloutStage === "broad",
      reasons: await checkKeyRotationGate(db, config.supabaseServiceRoleKey),
    },
  ];
});
lines.forEach(print);
if (lines.length === 1) console.log("routing (Gate B), keyRotation (Gate C): not checked until the migration gate passes");
process.exit(lines.every((line) => line.reasons.length === 0 || !line.required) && lines.length > 1 ? 0 : 1);
