// /proc/self/environ and /proc/self/cmdline: what this process image was started with (not
// process.env and process.argv, which the program may have changed since).
import { readFileSync } from "node:fs";

/** Parses a NUL-separated environment block into a map (the first "=" splits). */
export function parseEnviron(block: string): Map<string, string> {
  const env = new Map<string, string>();
  for (const entry of block.split("\0")) {
    const eq = entry.indexOf("=");
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return env;
}

/** Parses a NUL-separated argument block into a list. */
export function parseCmdline(block: string): string[] {
  const parts = block.split("\0");
  if (parts.at(-1) === "") parts.pop();
  return parts;
}

let initialEnv: Map<string, string> | undefined;

/** The environment this process image started with. Read once. */
export function startEnv(): Map<string, string> {
  return (initialEnv ??= parseEnviron(readFileSync("/proc/self/environ", "latin1")));
}

/** argv of this process exactly as it was started. */
export function startArgv(): string[] {
  return parseCmdline(readFileSync("/proc/self/cmdline", "latin1"));
}
