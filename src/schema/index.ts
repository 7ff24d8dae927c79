// Imports every schema file and builds the executable schema.
import { assertValidSchema } from "graphql";
import { builder } from "../builder.ts";
import { applyReadinessDirective, requiresReadyDirective } from "./readinessDirective.ts";
import "./scalars.ts";
import "./errors.ts";
import "./status.ts";

builder.queryType({});
builder.mutationType({});

export const schema = applyReadinessDirective(
  builder.toSchema({ directives: [requiresReadyDirective], sortSchema: true }),
);

// Fail at startup, not on the first request, if the schema is invalid.
assertValidSchema(schema);
