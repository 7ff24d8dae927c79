// Which browser origins may call the API. Production: exactly
// API_CORS_ALLOWED_ORIGINS (none by default). Elsewhere, also any localhost
// origin, so a frontend dev server (Next.js on :3000, Vite on :5173 …) works
// with no configuration.
import type { CORSOptions } from "graphql-yoga";
import type { AppConfig } from "../config/env.ts";
import type { RequestHead } from "../auth/requestHead.ts";

const LOCAL_ORIGIN = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/;

export type CorsSetting = CORSOptions | ((request: RequestHead) => CORSOptions) | false;

export function corsFor(config: Pick<AppConfig, "corsAllowedOrigins" | "isProduction">): CorsSetting {
  const configured = config.corsAllowedOrigins;
  // The request id is for bug reports: a browser client may read it.
  const shared = { credentials: true, exposedHeaders: ["x-request-id"] };
  if (config.isProduction) return configured.length > 0 ? { ...shared, origin: configured } : false;
  return (request) => {
    const origin = request.headers.get("origin");
    const allowed = origin !== null && (configured.includes(origin) || LOCAL_ORIGIN.test(origin));
    // No CORS headers at all for any other origin: the browser refuses the response.
    return allowed ? { ...shared, origin: [origin] } : false;
  };
}
