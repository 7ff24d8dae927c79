// `npm run bench`: every benchmark, one after another (they share two cores).
import { runRoomsBench } from "./rooms.ts";
import { runUsageBench } from "./usage.ts";
import { runTurnsBench } from "./turns.ts";

const BENCHES: { name: string; run: () => Promise<void> }[] = [
  { name: "rooms", run: runRoomsBench },
  { name: "turns", run: runTurnsBench },
  { name: "usage", run: runUsageBench },
];

for (const bench of BENCHES) {
  console.log(`\n== ${bench.name} ==`);
  await bench.run();
}
