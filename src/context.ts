// What every GraphQL request carries: the request, the viewer, and the app's
// services as runtime.ts wired them once (per-request loaders hang off the
// context through Pothos's context caches). The engine below the GraphQL
// layer never sees this: fields pass it plain values.
import type { Viewer } from "./auth/viewer.ts";
import type { RequestHead } from "./auth/requestHead.ts";
import type { AppServices } from "./runtime.ts";
import type { RequestRecord } from "./observability/requestContext.ts";

export type { Viewer };

export interface Context {
  /** Its headers: a Fetch API Request from Yoga, or Node's request seen through http/directJson.ts. */
  request: RequestHead;
  /** Null when the request carried no (valid) credentials. */
  viewer: Viewer | null;
  /** The request's log record (id, operation, viewer); absent when the app is called without the HTTP server (tests' app.fetch). */
  requestRecord?: RequestRecord;
  services: AppServices;
}
