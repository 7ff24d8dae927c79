// Argument parsing shared by the ops commands: `--help` prints the usage and
// exits 0; an unknown or malformed option is one line and the usage, exit 2,
// never a stack trace.
import { parseArgs, type ParseArgsConfig } from "node:util";

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
