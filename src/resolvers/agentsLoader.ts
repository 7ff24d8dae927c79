// Agents by id for fields that name one by a stored id (a usage group's
// agent, a direct chat's agent): one statement per request for every id
// asked, and only the viewer's own agents (deleted ones included: usage and
// a deleted session's result outlive them).
import type { Context } from "../context.ts";
import type { Agent } from "../generated/prisma/client.ts";
import { selectOwnedAgents } from "./agentSql.ts";
import { requestLoader } from "./requestLoader.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const loaders = requestLoader<string, Agent | null>(async (ids, context) => {
  const ownerId = context.viewer?.id;
  const wanted = ids.filter((id) => UUID.test(id));
  const agents = ownerId && wanted.length > 0 ? await selectOwnedAgents(context.services, ownerId, wanted) : [];
  const byId = new Map(agents.map((agent) => [agent.id, agent]));
  return ids.map((id) => byId.get(id) ?? null);
});

/** The viewer's agent with this id, or null (not theirs, or no such agent). */
export function viewerAgent(id: string, context: Context): Promise<Agent | null> {
  return loaders(context).load(id);
}
