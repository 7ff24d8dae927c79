// Imports every schema file and builds the executable schema.
import { assertValidSchema } from "graphql";
import { builder } from "../builder.ts";
import { applyReadinessDirective, requiresReadyDirective } from "./readinessDirective.ts";
import "./scalars.ts";
import "./errors.ts";
import "./status.ts";
import "./domainEnums.ts";
import "./viewer.ts";
import "./agent.ts";
import "./room.ts";
import "./roomMutations.ts";
import "./roomAgentMutations.ts";
import "./session.ts";
import "./usage.ts";
import "./usageLedger.ts";
import "./admin.ts";
import "./adminSettings.ts";
import "./usageTurn.ts";
import "./turn.ts";
import "./turnMutations.ts";
import "./routing.ts";
import "./turnEvents.ts";

builder.queryType({});
builder.mutationType({});

export const schema = applyReadinessDirective(
  builder.toSchema({ directives: [requiresReadyDirective], sortSchema: true }),
);

// Fail at startup, not on the first request, if the schema is invalid.
assertValidSchema(schema);
