// `npm run bench`: every benchmark, one after another (they share two cores);
// `npm run bench -- rooms usage` runs only the named ones.
import { runRoomsBench } from "./rooms.ts";
import { runUsageBench } from "./usage.ts";
import { runTurnsBench } from "./turns.ts";
import { runChaosBench } from "./chaos.ts";
import { runTranscriptBench } from "./transcript.ts";
import { runFanoutBench } from "./fanout.ts";
import { runPgInstructionsBench } from "./pgInstructions.ts";

const BENCHES: { name: string; run: () => Promise<void> }[] = [
  { name: "rooms", run: runRoomsBench },
  { name: "transcript", run: runTranscriptBench },
  { name: "turns", run: runTurnsBench },
  { name: "usage", run: runUsageBench },
  { name: "chaos", run: runChaosBench },
  { name: "fanout", run: runFanoutBench },
  { name: "pg-instructions", run: runPgInstructionsBench },
];

const only = process.argv.slice(2);
for (const bench of BENCHES.filter((entry) => only.length === 0 || only.includes(entry.name))) {
  console.log(`\n== ${bench.name} ==`);
  await bench.run();
}
