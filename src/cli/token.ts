// `npm run token -- --user alice [--email a@b.c] [--hours 12]`: prints a
// development access token for the user (a stable id per name, or a UUID).
// Send it as `Authorization: Bearer <token>`. Refused in production.
import { parseCliArgs } from "./args.ts";
import { z } from "zod";
import { signDevToken, devUserId } from "../auth/devToken.ts";
import { fail, loadConfigOrExit } from "./database.ts";

const MAX_HOURS = 24 * 30;

const argsSchema = z.object({
  user: z.string().min(1).max(64),
  email: z.string().email().optional(),
  hours: z.coerce.number().positive().max(MAX_HOURS).default(12),
});

const USAGE = "usage: npm run token -- --user NAME [--email EMAIL] [--hours N]";
const { values } = parseCliArgs(USAGE, { user: { type: "string" }, email: { type: "string" }, hours: { type: "string" } });
const parsed = argsSchema.safeParse(values);
if (!parsed.success) {
  fail(`${USAGE}\n${parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n")}`);
}
const args = parsed.data;
const config = loadConfigOrExit();
if (config.isProduction) fail("npm run token is for development: it refuses to sign tokens in production.");

try {
  const token = await signDevToken(config, { user: args.user, email: args.email, ttlSeconds: Math.round(args.hours * 3600) });
  console.error(`user ${args.user} = ${devUserId(args.user)}, valid ${args.hours} h. Header: Authorization: Bearer <token>`);
  console.log(token);
} catch (error) {
  fail(error instanceof Error ? error.message : "could not sign a token");
}
