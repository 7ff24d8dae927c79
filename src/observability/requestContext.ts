// What a request carries for its log line and for a masked error: its id
// (the client's x-request-id when well-formed, else a new one), and what
// GraphQL learned on the way (operation, viewer). Kept in AsyncLocalStorage,
// so code deep in a request finds it without threading it through.
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";

export interface RequestRecord {
  requestId: string;
  operationName?: string;
  operationType?: string;
  userId?: string;
}

const storage = new AsyncLocalStorage<RequestRecord>();

/** A client's id is honoured when it is a plausible id (no spaces, no control characters, bounded). */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && CLIENT_REQUEST_ID.test(value) ? value : randomUUID();
}

export function runWithRequest<T>(record: RequestRecord, run: () => T): T {
  return storage.run(record, run);
}

export function currentRequest(): RequestRecord | undefined {
  return storage.getStore();
}
