// Agent rules: per-owner unique agentKey among live agents (DB partial index
// uq_agents_owner_agent_key), soft delete that also leaves every room.
import { z } from "zod";
import type { Context } from "../context.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import { parseInput, STORABLE_MESSAGE } from "../validation/input.ts";
import { conflictOnUnique } from "./input.ts";
import { liveOwnedWhere, lockOwned } from "./ownedRecords.ts";
import { viewerId } from "./viewer.ts";
import { isStorableText } from "../db/storableText.ts";

const NAME_MAX = 120;
const ROLE_PROMPT_MAX = 8_000;
const AGENT_KEY_CONFLICT = "You already have an agent with this agentKey.";

const agentKey = z.string().regex(/^[a-z0-9_]{2,32}$/, "agentKey is 2 to 32 characters of a-z, 0-9 and _.");
const name = z.string().trim().min(1, "Name is required.").max(NAME_MAX, `Name is at most ${NAME_MAX} characters.`).refine(isStorableText, STORABLE_MESSAGE);
const modelAlias = z.enum(["llama", "qwen", "deepseek", "gpt_oss", "premium"]);
const rolePrompt = z.string().max(ROLE_PROMPT_MAX, `Role prompt is at most ${ROLE_PROMPT_MAX} characters.`).refine(isStorableText, STORABLE_MESSAGE);
const toolPermissions = z
  .array(z.enum(["search", "file_read"]))
  .refine((list) => new Set(list).size === list.length, "Each tool permission may appear once.");

const createAgentInput = z.object({
  agentKey,
  name,
  modelAlias,
  rolePrompt: rolePrompt.nullish().transform((value) => value ?? ""),
  toolPermissions: toolPermissions.nullish().transform((value) => value ?? []),
});
const updateAgentInput = z.object({
  agentKey: agentKey.nullish(),
  name: name.nullish(),
  modelAlias: modelAlias.nullish(),
  rolePrompt: rolePrompt.nullish(),
  toolPermissions: toolPermissions.nullish(),
});

type Tx = Prisma.TransactionClient;

export const liveAgentWhere: (context: Context, id: string) => Prisma.AgentWhereInput = liveOwnedWhere;

/** Locks the viewer's live agent for the rest of the transaction, or NOT_FOUND (deleted agents included). */
export const lockOwnedAgent = (tx: Tx, context: Context, rawId: string | number): Promise<string> => lockOwned(tx, context, "Agent", rawId);

export function createAgent(input: unknown, context: Context) {
  const data = parseInput(createAgentInput, input);
  return conflictOnUnique(() => context.services.prisma.agent.create({ data: { ...data, ownerId: viewerId(context) } }), AGENT_KEY_CONFLICT);
}

export function updateAgent(input: { id: string | number } & Record<string, unknown>, context: Context) {
  const data = parseInput(updateAgentInput, input);
  const changes = Object.fromEntries(Object.entries(data).filter(([, value]) => value !== null && value !== undefined));
  return conflictOnUnique(
    () =>
      context.services.prisma.$transaction(async (tx) => {
        const id = await lockOwnedAgent(tx, context, input.id);
        return tx.agent.update({ where: { id }, data: changes });
      }),
    AGENT_KEY_CONFLICT,
  );
}

export function deleteAgent(input: { id: string | number }, context: Context) {
  return context.services.prisma.$transaction(async (tx) => {
    const id = await lockOwnedAgent(tx, context, input.id);
    await tx.roomAgent.deleteMany({ where: { agentId: id } });
    return tx.agent.update({ where: { id }, data: { deletedAt: new Date() } });
  });
}
