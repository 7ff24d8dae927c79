// One DataLoader per request (per GraphQL context): every key a request asks
// for in the same tick is read by one batch, so a page of objects costs one
// statement per field, never one per object. No caching across loads: a
// mutation earlier in the same request may have changed what a later field
// reads. Without a cache a batch may hold a key twice (a usage report's
// groups by agent and day name one agent once a day): the batch function is
// given each key once, and its answer goes to every load of that key.
import DataLoader from "dataloader";
import { createContextCache } from "@pothos/core";
import type { Context } from "../context.ts";

type Batch<Key, Value> = (keys: readonly Key[], context: Context) => Promise<(Value | Error)[]>;

/** The loader of the request; `batch` answers each of its distinct keys in order (an Error for a key it cannot answer). */
export function requestLoader<Key, Value>(batch: Batch<Key, Value>): (context: Context) => DataLoader<Key, Value> {
  return createContextCache((context: Context) => new DataLoader<Key, Value>((keys) => onceEach(keys, context, batch), { cache: false }));
}

async function onceEach<Key, Value>(keys: readonly Key[], context: Context, batch: Batch<Key, Value>): Promise<(Value | Error)[]> {
  const distinct = [...new Set(keys)];
  if (distinct.length === keys.length) return batch(keys, context);
  const answers = await batch(distinct, context);
  const byKey = new Map(distinct.map((key, index) => [key, answers[index]!]));
  return keys.map((key) => byKey.get(key)!);
}
