// What a request carries for its log line and for a masked error: its id
// (the client's x-request-id when well-formed, else a new one), and what
// GraphQL learned on the way (operation, viewer). Kept beside the request
// objects themselves (Node's, then Yoga's Fetch request), not in
// AsyncLocalStorage: on Node 20 that turns on promise hooks for every
// promise of the process, which cost about 15% of the server's CPU per turn.
import { randomUUID } from "node:crypto";

export interface RequestRecord {
  requestId: string;
  operationName?: string;
  operationType?: string;
  userId?: string;
}

// A symbol-keyed property on the request object, not a WeakMap entry: as
// long-lived and invisible to others, where a WeakMap's set for a new key
// took about 1.3 µs, twice a request (and V8's scavenger keeps a long-lived
// WeakMap's values alive until a major GC: http/releaseScopeCache.ts).
const RECORD = Symbol("requestRecord");
type Carrier = { [RECORD]?: RequestRecord };

/** A client's id is honoured when it is a plausible id (no spaces, no control characters, bounded). */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && CLIENT_REQUEST_ID.test(value) ? value : randomUUID();
}

export function rememberRequest(request: object, record: RequestRecord): void {
  (request as Carrier)[RECORD] = record;
}

export function recordOf(request: object | undefined | null): RequestRecord | undefined {
  return request ? (request as Carrier)[RECORD] : undefined;
}
