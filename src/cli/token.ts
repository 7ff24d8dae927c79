// `npm run token -- --user alice [--email a@b.c] [--hours 12]`: prints a
// development access token for the user (a stable id per name, or a UUID).
// Send it as `Authorization: Bearer <token>`. Refused in production.
import { parseCliArgs, parseOptionsOrExit } from "./args.ts";
import { z } from "zod";
import { signDevToken, devUserId } from "../auth/devToken.ts";
import { fail, loadConfigOrExit } from "./database.ts";

const MAX_HOURS = 24 * 30;

const HOURS_MESSAGE = `how long the token is valid, in hours: above 0, at most ${MAX_HOURS}`;
const argsSchema = z.object({
  user: z.string({ error: "required: the development user's name, e.g. --user alice" }).min(1).max(64, { error: "at most 64 characters" }),
  email: z.email({ error: "an email address" }).optional(),
  hours: z.coerce.number({ error: HOURS_MESSAGE }).positive({ error: HOURS_MESSAGE }).max(MAX_HOURS, { error: HOURS_MESSAGE }).default(12),
});

const USAGE = "usage: npm run token -- --user NAME [--email EMAIL] [--hours N]";
const { values } = parseCliArgs(USAGE, { user: { type: "string" }, email: { type: "string" }, hours: { type: "string" } });
const args = parseOptionsOrExit(USAGE, argsSchema, values);
const config = loadConfigOrExit();
if (config.isProduction) fail("npm run token is for development: it refuses to sign tokens in production.");

try {
  const token = await signDevToken(config, { user: args.user, email: args.email, ttlSeconds: Math.round(args.hours * 3600) });
  console.error(`user ${args.user} = ${devUserId(args.user)}, valid ${args.hours} h. Header: Authorization: Bearer <token>`);
  console.log(token);
} catch (error) {
  fail(error instanceof Error ? error.message : "could not sign a token");
}
