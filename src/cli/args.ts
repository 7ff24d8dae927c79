// Argument parsing shared by the ops commands: `--help` prints the usage and
// exits 0; an unknown or malformed option is one line and the usage, exit 2,
// never a stack trace.
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { z } from "zod";

type Options = NonNullable<ParseArgsConfig["options"]>;

export function parseCliArgs<O extends Options>(usage: string, options: O, allowPositionals = false) {
  const args = process.argv.slice(2);
  if (args.includes("--help") || args.includes("-h")) {
    console.log(usage);
    process.exit(0);
  }
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : "invalid arguments"}\n${usage}`);
    process.exit(2);
  }
}

/**
 * The options checked by `schema`, or one line per option at fault (its first
 * problem: `--hours: ...`, not every check it failed) and the usage, exit 2.
 * `labels` names positionals, e.g. { action: "ACTION" }.
 */
export function parseOptionsOrExit<S extends z.ZodType>(usage: string, schema: S, input: unknown, labels: Record<string, string> = {}): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const lines = new Map<string, string>();
  for (const issue of parsed.error.issues) {
    const key = issue.path.map(String).join(".") || "action";
    if (!lines.has(key)) lines.set(key, `${labels[key] ?? `--${key}`}: ${issue.message}`);
  }
  console.error(`${[...lines.values()].join("\n")}\n${usage}`);
  process.exit(2);
}
