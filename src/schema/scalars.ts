import { GraphQLError, Kind } from "graphql";
import { builder } from "../builder.ts";

builder.scalarType("DateTime", {
  description: "An instant in time, ISO 8601 in UTC.",
  serialize: (value) => (value instanceof Date ? value : new Date(value as string)).toISOString(),
  parseValue: (value) => {
    const date = typeof value === "string" ? new Date(value) : new Date(Number.NaN);
    if (Number.isNaN(date.getTime())) throw new GraphQLError("DateTime must be an ISO 8601 string.");
    return date;
  },
});

const DECIMAL_PATTERN = /^-?\d+(\.\d+)?$/;

builder.scalarType("Decimal", {
  description: "An exact decimal number as a string (money and credits are never floats).",
  serialize: (value) => String(value),
  parseValue: (value) => {
    if (typeof value !== "string" || !DECIMAL_PATTERN.test(value)) throw new GraphQLError("Decimal must be a decimal string.");
    return value;
  },
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING || !DECIMAL_PATTERN.test(ast.value)) throw new GraphQLError("Decimal must be a decimal string.");
    return ast.value;
  },
});

builder.scalarType("JSON", {
  description: "Arbitrary JSON.",
  serialize: (value) => value,
  parseValue: (value) => value,
});
