// Pothos keeps each request's auth-scope results in a WeakMap keyed by the
// GraphQL context (RequestCache), and the results hold the parents they were
// checked for. V8's scavenger keeps the values of a long-lived WeakMap alive
// until a major GC: the request's objects, rows and results included, were
// promoted to the old generation, about 5 KB a request on the rooms page,
// and its scavenges took about four times raw node:http + pg's. The entry is
// deleted once a query or mutation has its result; a subscription keeps its
// cache for its events.
import { RequestCache } from "@pothos/plugin-scope-auth";
import { isAsyncIterable, type Plugin } from "graphql-yoga";

const RELEASE_WHEN_DONE = {
  onExecuteDone({ args, result }: { args: { contextValue: unknown }; result: unknown }): void {
    if (!isAsyncIterable(result)) RequestCache.clearForContext(args.contextValue as object);
  },
};

export function releaseScopeCache(): Plugin {
  return { onExecute: () => RELEASE_WHEN_DONE };
}
