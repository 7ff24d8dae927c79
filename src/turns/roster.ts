// The roster snapshot a turn runs with: the room's agents in position order,
// with the configuration they had when the turn started (turns.roster_snapshot).
import { z } from "zod";
import { MODEL_ALIASES } from "../llm/models.ts";

export const rosterEntrySchema = z.object({
  agentId: z.string(),
  agentKey: z.string(),
  name: z.string(),
  modelAlias: z.enum(MODEL_ALIASES),
  rolePrompt: z.string(),
  toolPermissions: z.array(z.enum(["search", "file_read"])),
  position: z.number().int(),
});

export type RosterEntry = z.infer<typeof rosterEntrySchema>;

const rosterSchema = z.array(rosterEntrySchema);

export function parseRosterSnapshot(value: unknown): RosterEntry[] {
  return rosterSchema.parse(value);
}

/** An agent's configuration as stored. */
export interface AgentRecord {
  id: string;
  agentKey: string;
  name: string;
  modelAlias: RosterEntry["modelAlias"];
  rolePrompt: string;
  toolPermissions: RosterEntry["toolPermissions"];
}

export function snapshotAgent(agent: AgentRecord, position: number): RosterEntry {
  return {
    agentId: agent.id,
    agentKey: agent.agentKey,
    name: agent.name,
    modelAlias: agent.modelAlias,
    rolePrompt: agent.rolePrompt,
    toolPermissions: [...agent.toolPermissions],
    position,
  };
}
