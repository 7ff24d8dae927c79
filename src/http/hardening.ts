// Limits that keep one request from costing the server too much, and the
// switches that keep the schema private in production.
import { EnvelopArmorPlugin } from "@escape.tech/graphql-armor";
import { costLimitRule } from "@escape.tech/graphql-armor-cost-limit";
import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import { maxDirectivesRule } from "@escape.tech/graphql-armor-max-directives";
import { useCSRFPrevention } from "@graphql-yoga/plugin-csrf-prevention";
import { NoSchemaIntrospectionCustomRule, type GraphQLError, type ValidationContext, type ValidationRule } from "graphql";
import type { Plugin } from "graphql-yoga";
import type { AppConfig } from "../config/env.ts";
import { CSRF_HEADER } from "./graphiql.ts";

export const LIMITS = {
  maxDepth: 10,
  maxAliases: 15,
  maxTokens: 1_500,
  maxCost: 5_000,
  maxDirectives: 20,
  batchSize: 10,
  maxBodyBytes: 100_000,
} as const;

/** Introspection follows GraphiQL in production (both off unless enabled); it is always on elsewhere. */
export function introspectionEnabled(config: AppConfig): boolean {
  return !config.isProduction || config.graphiqlEnabled;
}

/** A refusal of the HTTP layer as a GraphQL response: clients read one shape, with a code. */
function refusal(status: number, code: string, message: string): Response {
  return Response.json({ errors: [{ message, extensions: { code } }] }, { status });
}

/**
 * Refuses bodies over the limit before they are read. Requests that carry a
 * body without Content-Length (chunked) are refused too: every GraphQL client
 * sends the length for a JSON body.
 */
function limitRequestBody(maxBytes: number): Plugin {
  return {
    onRequest: ({ request, endResponse }) => {
      if (request.method !== "POST") return;
      const length = request.headers.get("content-length");
      if (length === null) {
        endResponse(refusal(411, "LENGTH_REQUIRED", "A POST must carry its Content-Length."));
      } else if (!/^\d+$/.test(length) || Number(length) > maxBytes) {
        endResponse(refusal(413, "PAYLOAD_TOO_LARGE", `The request body exceeds ${maxBytes} bytes.`));
      }
    },
  };
}

/**
 * Armor's validation rules throw by default, and a thrown error reaches the
 * client without a code; reported to the validation context instead, it is a
 * validation error like any other: GRAPHQL_VALIDATION_FAILED, HTTP 400.
 */
const asValidationError = {
  propagateOnRejection: false,
  onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(error)],
};

/**
 * The limits' validation rules (armor's, in the order its plugin adds them,
 * and introspection's), built once: armor's plugins build new ones for every
 * request, which a validation cache cannot tell from the last request's
 * (http/cachedValidation.ts applies these).
 */
export function limitRules(config: AppConfig): ValidationRule[] {
  return [
    maxDirectivesRule({ n: LIMITS.maxDirectives, ...asValidationError }),
    maxAliasesRule({ n: LIMITS.maxAliases, ...asValidationError }),
    costLimitRule({ maxCost: LIMITS.maxCost, ignoreIntrospection: true, ...asValidationError }),
    maxDepthRule({ n: LIMITS.maxDepth, ignoreIntrospection: true, flattenFragments: true, ...asValidationError }),
    ...(introspectionEnabled(config) ? [] : [NoSchemaIntrospectionCustomRule]),
  ];
}

export function hardeningPlugins(config: AppConfig): Plugin[] {
  const armor = EnvelopArmorPlugin({
    maxTokens: { n: LIMITS.maxTokens },
    blockFieldSuggestion: { enabled: config.isProduction },
    // Its validation rules are limitRules', applied by http/cachedValidation.ts.
    maxDirectives: { enabled: false },
    maxAliases: { enabled: false },
    costLimit: { enabled: false },
    maxDepth: { enabled: false },
  });
  return [limitRequestBody(LIMITS.maxBodyBytes), useCSRFPrevention({ requestHeaders: [CSRF_HEADER] }), armor as Plugin];
}
