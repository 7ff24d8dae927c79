// turn.usage: the same report as room and session usage, for one turn.
import "./turn.ts";
import { addScopedUsageField } from "./usage.ts";

addScopedUsageField({ model: "Turn", kind: "turn", description: "Usage of this turn's calls, failed ones included." });
