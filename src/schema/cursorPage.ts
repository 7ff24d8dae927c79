// Relay paging for a connection served by hand-written SQL, with the same
// arguments, errors, cursors and pageInfo as plugin-prisma's
// `prismaConnection({ cursor: "id" })`, so clients see no difference.
import { getConnectionPageSize, PothosValidationError, validateConnectionArguments } from "@pothos/core";
import { formatPrismaCursor, parsePrismaCursor } from "@pothos/plugin-prisma";

export interface ConnectionArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
}

export interface PageWindow {
  /** Rows to read: the page size plus one, which tells whether another page exists. */
  limit: number;
  /** `last` or `before`: the page is read from the far end towards the cursor. */
  backward: boolean;
}

export interface Connection<Node> {
  edges: { cursor: string; node: Node }[];
  pageInfo: { startCursor: string | null; endCursor: string | null; hasPreviousPage: boolean; hasNextPage: boolean };
}

/** Checks the arguments before any SQL runs; a malformed cursor fails here ("Invalid cursor: ..."). */
export function pageWindow(args: ConnectionArgs, sizes: { defaultSize: number; maxSize: number }): PageWindow {
  validateConnectionArguments(args);
  if (args.before && args.after) throw new PothosValidationError('Arguments "before" and "after" are not supported at the same time');
  if (args.before != null && args.first != null) throw new PothosValidationError('Arguments "before" and "first" are not supported at the same time');
  if (args.after != null && args.last != null) throw new PothosValidationError('Arguments "after" and "last" are not supported at the same time');
  const cursor = args.before ?? args.after;
  if (cursor != null) parsePrismaCursor(cursor);
  const { limit } = getConnectionPageSize({ args, ...sizes });
  return { limit, backward: args.before != null || args.last != null };
}

function cursorOf(node: { id: string }): string {
  return formatPrismaCursor(node, "id");
}

/** An edge whose cursor is encoded only when the operation reads it. */
class PageEdge<Node extends { id: string }> {
  constructor(readonly node: Node) {}
  get cursor(): string {
    return cursorOf(this.node);
  }
}

/** Page info whose cursors are encoded only when the operation reads them. */
class PageInfo<Node extends { id: string }> {
  constructor(
    private readonly nodes: Node[],
    readonly hasPreviousPage: boolean,
    readonly hasNextPage: boolean,
  ) {}
  get startCursor(): string | null {
    return this.nodes.length > 0 ? cursorOf(this.nodes[0]!) : null;
  }
  get endCursor(): string | null {
    return this.nodes.length > 0 ? cursorOf(this.nodes.at(-1)!) : null;
  }
}

/** `rows` in display order, holding up to `limit` rows; the extra row is dropped from the far end. */
export function toConnection<Node extends { id: string }>(rows: Node[], args: ConnectionArgs, window: PageWindow): Connection<Node> {
  const full = rows.length === window.limit;
  const nodes = !full ? rows : window.backward ? rows.slice(1) : rows.slice(0, -1);
  return {
    edges: nodes.map((node) => new PageEdge(node)),
    pageInfo: new PageInfo(
      nodes,
      args.after != null ? true : window.backward ? full : false,
      args.before != null ? true : args.last != null ? false : full,
    ),
  };
}
