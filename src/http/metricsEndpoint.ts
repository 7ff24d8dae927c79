// GET /metrics: Prometheus text. In production it answers only with
// `Authorization: Bearer $METRICS_TOKEN` (and not at all without a token);
// elsewhere it is open unless a token is set.
import { timingSafeEqual } from "node:crypto";
import type { Plugin } from "graphql-yoga";
import type { AppConfig } from "../config/env.ts";
import type { Metrics } from "../observability/metrics.ts";

const METRICS_PATH = "/metrics";

function authorized(header: string | null, token: string | undefined, isProduction: boolean): boolean {
  if (!token) return !isProduction;
  const given = Buffer.from(header?.startsWith("Bearer ") ? header.slice("Bearer ".length) : "");
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function metricsPlugin(metrics: Metrics, config: Pick<AppConfig, "metricsToken" | "isProduction">): Plugin {
  return {
    onRequest: ({ url, request, endResponse }) => {
      if (url.pathname !== METRICS_PATH) return;
      if (!config.metricsToken && config.isProduction) return endResponse(new Response("Not found.", { status: 404 }));
      if (!authorized(request.headers.get("authorization"), config.metricsToken, config.isProduction)) {
        return endResponse(new Response("Unauthorized.", { status: 401, headers: { "www-authenticate": "Bearer" } }));
      }
      return metrics.registry.metrics().then(
        (text) => endResponse(new Response(text, { headers: { "content-type": metrics.registry.contentType } })),
        () => endResponse(new Response("Metrics unavailable.", { status: 500 })),
      );
    },
  };
}
