// Arguments of the subcommands, through util.parseArgs: flags in any order, `--flag=value`,
// short forms; a usage error is a message (exit status 2), never a stack.
import { parseArgs, type ParseArgsConfig } from "node:util";

/** The exit statuses of every command. */
export const EXIT = { done: 0, failed: 1, usage: 2 } as const;

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Parsed flags and positionals, or the usage error parseArgs found. */
export function parse<O extends Options>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const unknown = /^Unknown option '([^']+)'/.exec(message);
    return { error: unknown ? `unknown option ${unknown[1]}` : message.replace(/\.$/, "") };
  }
}

/** Whether values may be printed in color: NO_COLOR (https://no-color.org) unset or empty. */
export function colorAllowed(): boolean {
  return !process.env["NO_COLOR"];
}
