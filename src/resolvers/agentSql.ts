// A page of the viewer's live agents in plain SQL on the pg pool, as the
// rooms page is read (roomSql.ts): four statement texts (each direction, with
// and without a cursor), prepared where the pool allows. Through Prisma the
// page cost about 1.1 ms of the server's CPU a request, against 0.26–0.29 ms
// now (docs/development.md, "The agents page is one SQL statement").
import type { AppServices } from "../runtime.ts";
import type { Agent } from "../generated/prisma/client.ts";
import { queryRows, type Statement } from "../db/sql.ts";
import { ownedPageTail } from "./ownedPageSql.ts";

export interface AgentPageQuery {
  ownerId: string;
  /** The agent the page starts after (or, backward, before); null for the first or last page. */
  cursorId: string | null;
  /** Newest first, or oldest first from the end or the cursor for `last`/`before`. */
  backward: boolean;
  limit: number;
}

/**
 * Each Agent field's column, `a` the agents table (the rooms page reads them
 * too, roomSql.ts). Only these constant expressions are ever put into the
 * SQL text.
 */
export const AGENT_COLUMNS: Record<keyof Agent, string> = {
  id: "a.id", ownerId: "a.owner_id", agentKey: "a.agent_key", name: "a.name", modelAlias: "a.model_alias", rolePrompt: "a.role_prompt",
  toolPermissions: "a.tool_permissions", deletedAt: "a.deleted_at", createdAt: "a.created_at", updatedAt: "a.updated_at",
};

/**
 * The expressions (`a` the agents table) that the selected Agent fields read,
 * by field, as Prisma returns them; always id. The enum array as text[], so
 * that pg parses it (pg has no parser for an enum's array); timestamps as Dates.
 */
export function agentColumns(fields: ReadonlySet<string> | "all"): [keyof Agent, string][] {
  return (Object.entries(AGENT_COLUMNS) as [keyof Agent, string][])
    .filter(([field]) => fields === "all" || field === "id" || fields.has(field))
    .map(([field, column]) => [field, field === "toolPermissions" ? `${column}::text[]` : column]);
}

// Every column under its Prisma field's name, as Prisma returned the row.
const COLUMNS = agentColumns("all")
  .map(([field, column]) => `${column} AS "${field}"`)
  .join(", ");

function agentPageText(backward: boolean, withCursor: boolean): string {
  return `SELECT ${COLUMNS}
    ${ownedPageTail("agents", "a", backward, withCursor)}`;
}

const PAGE_TEXTS = {
  forward: { start: agentPageText(false, false), cursor: agentPageText(false, true) },
  backward: { start: agentPageText(true, false), cursor: agentPageText(true, true) },
} as const;

function agentPageStatement({ ownerId, cursorId, backward, limit }: AgentPageQuery): Statement {
  const texts = backward ? PAGE_TEXTS.backward : PAGE_TEXTS.forward;
  return cursorId ? { text: texts.cursor, values: [ownerId, limit, cursorId] } : { text: texts.start, values: [ownerId, limit] };
}

/** The page in display order (newest first), one statement. */
export async function selectAgentPage({ pool, statements }: Pick<AppServices, "pool" | "statements">, query: AgentPageQuery): Promise<Agent[]> {
  const agents = await queryRows<Agent>(pool, agentPageStatement(query), statements);
  return query.backward ? agents.reverse() : agents;
}

// Each agent by its id (a lateral read, OFFSET 0: never flattened into a join), its owner checked outside
// that read: without fresh statistics the planner otherwise read all the owner's agents.
const OWNED_BY_ID = `SELECT ${COLUMNS}
    FROM unnest($1::uuid[]) AS wanted(id) JOIN LATERAL (SELECT * FROM agents a WHERE a.id = wanted.id OFFSET 0) a ON a.owner_id = $2`;

/** The owner's agents with these ids, deleted ones included; one prepared statement for all of them. */
export function selectOwnedAgents({ pool, statements }: Pick<AppServices, "pool" | "statements">, ownerId: string, ids: readonly string[]): Promise<Agent[]> {
  return queryRows<Agent>(pool, { text: OWNED_BY_ID, values: [ids, ownerId] }, statements);
}
