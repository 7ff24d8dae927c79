// Pothos keeps a request's auth-scope results per GraphQL context; the server
// deletes them once a query or mutation has its result (its rows would
// otherwise be promoted to the old generation with every request,
// src/http/releaseScopeCache.ts). An execution whose result is a stream
// keeps its cache for what follows (a subscription's events are executed by
// subscribe, which this hook never sees). What the release saves is
// garbage-collector work, which no request can observe (the rooms bench's
// figures are in docs/development.md); this checks that the hook deletes
// what it must and keeps what it must.
import { expect, test } from "vitest";
import { RequestCache } from "@pothos/plugin-scope-auth";
import { builder } from "../src/builder.ts";
import { releaseScopeCache } from "../src/http/releaseScopeCache.ts";

type DoneHook = (payload: { args: { contextValue: unknown }; result: unknown }) => void;

function executionDone(): DoneHook {
  const hooks = (releaseScopeCache().onExecute as unknown as (payload: never) => { onExecuteDone: DoneHook })({} as never);
  return hooks.onExecuteDone;
}

/** The context's cache, made on first use as scope-auth makes it for the API's schema. */
const cacheOf = (context: object) => RequestCache.fromContext(context as never, builder as never);

test("a query's or mutation's scope cache is deleted once it has its result", () => {
  const context = {};
  const during = cacheOf(context);
  expect(cacheOf(context)).toBe(during);
  executionDone()({ args: { contextValue: context }, result: { data: { rooms: null } } });
  expect(cacheOf(context)).not.toBe(during);
});

test("an execution whose result is a stream keeps its scope cache for what follows", () => {
  const context = {};
  const during = cacheOf(context);
  const events = (async function* () {
    yield { data: null };
  })();
  executionDone()({ args: { contextValue: context }, result: events });
  expect(cacheOf(context)).toBe(during);
});
