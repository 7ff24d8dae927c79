// Validation with the limits' rules, its outcome kept per parsed document.
// Yoga's own validation cache keys outcomes by the names of every rule (the
// 27 of the specification and ours), read through Function.prototype.name's
// accessor for each request: about 3% of the server's CPU on the rooms page.
// Here the rules are compared by identity, which needs rules built once
// (http/hardening.ts, limitRules), and the outcome is reused only for the
// same schema, document (Yoga's parse cache hands out one per query text)
// and rules, in the same order.
import type { DocumentNode, GraphQLSchema, ValidationRule } from "graphql";
import type { Plugin } from "graphql-yoga";

interface Outcome {
  schema: GraphQLSchema;
  rules: readonly ValidationRule[];
  /** What validation returned: its errors, none when valid. */
  errors: readonly Error[];
}

function sameRules(a: readonly ValidationRule[], b: readonly ValidationRule[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Adds `rules` to every validation and caches its outcome. Must come after
 * every plugin that adds a rule: on a hit, validation (and any rule added
 * later) does not run.
 */
export function cachedValidation(rules: readonly ValidationRule[]): Plugin {
  const outcomes = new WeakMap<DocumentNode, Outcome>();
  return {
    onValidate({ params, addValidationRule, setResult }) {
      for (const rule of rules) addValidationRule(rule);
      // The array the rules were added to: the engine's specified rules, then every plugin's (undefined if none came before).
      const applied = params.rules;
      if (!applied) return;
      const { schema, documentAST } = params;
      const outcome = outcomes.get(documentAST);
      if (outcome && outcome.schema === schema && sameRules(outcome.rules, applied)) {
        setResult(outcome.errors);
        return;
      }
      const used = [...applied];
      return ({ result }) => {
        outcomes.set(documentAST, { schema, rules: used, errors: result });
      };
    },
  };
}
