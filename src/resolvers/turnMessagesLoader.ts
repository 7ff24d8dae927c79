// Turn.messages for every turn object, through a per-request loader: a page
// of turns reads all their messages in one statement, never one per turn.
import type { Context } from "../context.ts";
import type { TranscriptMessage } from "./messageSql.ts";
import { requestLoader } from "./requestLoader.ts";

const loaders = requestLoader<string, TranscriptMessage[]>(async (turnIds, context) => {
  const rows = await context.services.prisma.message.findMany({
    where: { turnId: { in: [...turnIds] } },
    select: { id: true, turnId: true, role: true, agentKey: true, content: true, createdAt: true },
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
  });
  const byTurn = new Map<string, TranscriptMessage[]>(turnIds.map((id) => [id, []]));
  for (const { turnId, ...message } of rows) byTurn.get(turnId!)?.push(message);
  return turnIds.map((id) => byTurn.get(id)!);
});

export function turnMessages(turnId: string, context: Context): Promise<TranscriptMessage[]> {
  return loaders(context).load(turnId);
}
