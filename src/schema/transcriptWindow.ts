// Whether session(id) can read its transcript page in its own statement: the
// operation selects `messages` once under it, directly, with no cursor (the
// newest or the oldest page). Anything else is resolved field by field.
import { Kind, getArgumentValues, getNamedType, isObjectType, type GraphQLResolveInfo } from "graphql";
import { pageWindow, type PageWindow } from "./cursorPage.ts";

export const TRANSCRIPT_SIZES = { defaultSize: 50, maxSize: 100 } as const;

export function transcriptWindow(info: GraphQLResolveInfo): PageWindow | null {
  const sessionType = getNamedType(info.returnType);
  const field = isObjectType(sessionType) ? sessionType.getFields().messages : undefined;
  if (!field) return null;
  const nodes = info.fieldNodes.flatMap((node) => node.selectionSet?.selections ?? []).filter((selection) => selection.kind === Kind.FIELD && selection.name.value === "messages");
  if (nodes.length !== 1 || nodes[0]!.kind !== Kind.FIELD) return null;
  const args = getArgumentValues(field, nodes[0]!, info.variableValues) as { first?: number; last?: number; after?: string; before?: string };
  if (args.after != null || args.before != null) return null;
  try {
    return pageWindow(args, TRANSCRIPT_SIZES);
  } catch {
    // Invalid arguments: the field itself reports them.
    return null;
  }
}
