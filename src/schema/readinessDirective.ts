// Enforces @requiresReady: while Gate A is closed, a marked field runs no
// resolver and sends no SQL. Mutations whose result union has NotReadyError
// get that typed error; other fields fail with extensions.code NOT_READY.
import { GraphQLDirective, GraphQLError, DirectiveLocation, type GraphQLFieldConfig, type GraphQLSchema } from "graphql";
import { mapSchema, MapperKind } from "@graphql-tools/utils";
import { wrapErrorIfMatches } from "@pothos/plugin-errors";
import { NotReadyError } from "../errors.ts";
import type { Context } from "../context.ts";
import type { GateState } from "../gates/readiness.ts";

export const REQUIRES_READY = "requiresReady";

export const requiresReadyDirective = new GraphQLDirective({
  name: REQUIRES_READY,
  description: "The field reads or writes the database: it answers NOT_READY until the migration gate (Gate A) passes.",
  locations: [DirectiveLocation.FIELD_DEFINITION],
});

/** Directive usage for Pothos field options. */
export const requiresReady = { [REQUIRES_READY]: {} } as const;

/** PostgreSQL errors meaning the schema is not what the code expects (undefined table/column). */
const SCHEMA_ERROR_CODES = new Set(["42P01", "42703", "P2021", "P2022"]);

function hasDirective(field: GraphQLFieldConfig<unknown, Context>): boolean {
  const directives = (field.extensions as { directives?: { name: string }[] } | undefined)?.directives;
  return Array.isArray(directives) && directives.some((directive) => directive.name === REQUIRES_READY);
}

/** Why a gate is closed may name internals: admins read it everywhere, others outside production only. */
export function visibleReasons(reasons: string[], context: Context): string[] {
  return context.viewer?.adminRole || !context.services.config.isProduction ? reasons : [];
}

export function isSchemaError(error: unknown): boolean {
  for (let current: unknown = error; current && typeof current === "object"; current = (current as { cause?: unknown }).cause) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && SCHEMA_ERROR_CODES.has(code)) return true;
    const original = (current as { meta?: { driverAdapterError?: { cause?: { originalCode?: string } } } }).meta?.driverAdapterError?.cause?.originalCode;
    if (original && SCHEMA_ERROR_CODES.has(original)) return true;
  }
  return false;
}

function notReady(field: GraphQLFieldConfig<unknown, Context>, context: Context, state: GateState): unknown {
  const reasons = visibleReasons(state.reasons, context);
  // A result union with NotReadyError gets the typed error, wrapped as the errors plugin does.
  const errorTypes = (field.extensions as { pothosErrors?: (new (...args: never[]) => Error)[] } | undefined)?.pothosErrors ?? [];
  if (errorTypes.includes(NotReadyError)) {
    return wrapErrorIfMatches(new NotReadyError("migrations", reasons), errorTypes, undefined);
  }
  throw new GraphQLError("The service is not ready: the migration gate is closed.", {
    extensions: { code: "NOT_READY", gate: "migrations", reasons },
  });
}

function guard<Args extends unknown[]>(
  field: GraphQLFieldConfig<unknown, Context>,
  run: ((...args: Args) => unknown) | undefined,
  contextOf: (args: Args) => Context,
) {
  if (!run) return run;
  return async (...args: Args) => {
    const context = contextOf(args);
    const state = context.services.readiness.migrations();
    if (!state.ok) return notReady(field, context, state);
    try {
      return await run(...args);
    } catch (error) {
      if (isSchemaError(error)) context.services.readiness.reportSchemaError();
      throw error;
    }
  };
}

export function applyReadinessDirective(schema: GraphQLSchema): GraphQLSchema {
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (field) => {
      if (!hasDirective(field)) return field;
      type ResolveArgs = Parameters<NonNullable<typeof field.resolve>>;
      const contextOf = (args: ResolveArgs) => args[2];
      return {
        ...field,
        resolve: guard(field, field.resolve, contextOf) ?? field.resolve,
        subscribe: guard(field, field.subscribe, contextOf) ?? field.subscribe,
      };
    },
  });
}
