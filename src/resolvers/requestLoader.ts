// One DataLoader per request (per GraphQL context): every key a request asks
// for in the same tick is read by one batch, so a page of objects costs one
// statement per field, never one per object. No caching across loads: a
// mutation earlier in the same request may have changed what a later field
// reads. (Without a cache a batch may hold a key twice.)
import DataLoader from "dataloader";
import { createContextCache } from "@pothos/core";
import type { Context } from "../context.ts";

/** The loader of the request; `batch` answers each key in order (an Error for a key it cannot answer). */
export function requestLoader<Key, Value>(batch: (keys: readonly Key[], context: Context) => Promise<(Value | Error)[]>): (context: Context) => DataLoader<Key, Value> {
  return createContextCache((context: Context) => new DataLoader<Key, Value>((keys) => batch(keys, context), { cache: false }));
}
