// Imports every schema file and builds the executable schema.
import { GraphQLSchema, assertValidSchema, specifiedDirectives } from "graphql";
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
import "./sessionLists.ts";
import "./usage.ts";
import "./usageLedger.ts";
import "./admin.ts";
import "./adminSettings.ts";
import "./usageTurn.ts";
import "./turn.ts";
import "./turnMutations.ts";
import "./routing.ts";
import "./turnEvents.ts";
import "./credits.ts";
import "./accounts.ts";
import "./roomCredits.ts";
import "./roomTurnLimits.ts";
import "./creditAdmin.ts";
import "./walletEvents.ts";

builder.queryType({});
builder.mutationType({});

/** The docs root GraphiQL shows first: what this API is and where a client starts. */
const SCHEMA_DESCRIPTION = `Pantheon: councils of AI agents in rooms, every provider call metered.

Start: createAgent, createRoom, assignAgent, createSession, then sendMessage; follow the turn with the
turnEvents subscription (or read turn(id)); read what it cost in TurnCompleted.usage, turn.usageTotals or
viewer.usage. Past conversations: viewer.sessions, then session.messages.

Every mutation returns a <Name>Result union: <Name>Success or a typed error implementing Error { code message }.
Lists are Relay connections. Fields marked @requiresReady answer NOT_READY until the database is migrated.
Sign in with a Supabase access token: Authorization: Bearer <token>.`;

// The specified directives (@include, @skip, @deprecated, @specifiedBy, @oneOf) are listed with ours:
// a directives list given here replaces graphql's default one, and clients lose @include and @skip.
const built = builder.toSchema({ directives: [...specifiedDirectives, requiresReadyDirective], sortSchema: true });

export const schema = applyReadinessDirective(new GraphQLSchema({ ...built.toConfig(), description: SCHEMA_DESCRIPTION }));

// Fail at startup, not on the first request, if the schema is invalid.
assertValidSchema(schema);
