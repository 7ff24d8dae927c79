// Which fields an operation selects below the field being resolved, so a
// resolver can read exactly those columns, nested ones included, in one
// statement (what plugin-prisma's select mode does for Prisma queries).
import { Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from "graphql";

/** Field names selected at `path` below the current field, through fragments (aliases and @skip/@include ignored: a superset). */
export function selectedFields(info: GraphQLResolveInfo, path: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const node of info.fieldNodes) collect(node.selectionSet, path, info, names);
  return names;
}

function collect(selectionSet: SelectionSetNode | undefined, path: readonly string[], info: GraphQLResolveInfo, names: Set<string>): void {
  for (const selection of selectionSet?.selections ?? []) {
    if (selection.kind === Kind.FIELD) {
      if (path.length === 0) names.add(selection.name.value);
      else if (selection.name.value === path[0]) collect(selection.selectionSet, path.slice(1), info, names);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      collect(selection.selectionSet, path, info, names);
    } else {
      collect(info.fragments[selection.name.value]?.selectionSet, path, info, names);
    }
  }
}

/**
 * `read` once per field node: Yoga caches parsed documents, so a document's
 * selections are read on its first request only. One node has one answer, as
 * `read` depends on the document alone (selectedFields ignores @skip/@include).
 */
export function cachedPerFieldNode<Value>(read: (info: GraphQLResolveInfo) => Value): (info: GraphQLResolveInfo) => Value {
  const byNode = new WeakMap<FieldNode, Value>();
  return (info) => {
    const node = info.fieldNodes.length === 1 ? info.fieldNodes[0]! : null;
    if (!node) return read(info);
    if (!byNode.has(node)) byNode.set(node, read(info));
    return byNode.get(node)!;
  };
}
