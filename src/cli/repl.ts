// `bun-snapshot repl [--undo] [module]`: the snapshot REPL (src/repl/) on this terminal. With
// --undo every input runs in a new snapshot, so `.undo` (a revert) gives back the state from
// before the input. Started snapshot-safe by main.ts (ensureSafe) before this module is loaded.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { openHistory } from "../repl/history.ts";
import { colorAllowed } from "./args.ts";
import { endSession, replUnavailable, startSnapshotRepl, UNDO_CAP } from "../repl/start.ts";

/** What `bun-snapshot repl` was asked for. */
export interface ReplOptions {
  /** A module to load first; its exports are on the REPL's context. Undefined: none. */
  module?: string;
  /** Each input that runs code runs in a new snapshot (`.undo`). */
  undo: boolean;
  /** The deepest snapshot --undo takes (default UNDO_CAP). */
  undoCap: number;
}

export const REPL_USAGE = `Usage: bun-snapshot repl [--undo[=N]] [module]

A REPL whose state you can snapshot and take back. With a module, the module is loaded first
and its exports are in scope. Commands (.help lists them all):
  .snap [label]   take a snapshot and continue in it
  .back           revert this snapshot: the state before it comes back
  .to N           revert to depth N (0 = the original)
  .commit         keep this line: when it ends, the whole session ends with its status
  .snaps          the chain of snapshots: depth, pid, label, age, the input that took it
  .trial <expr>   evaluate in a throwaway copy and print the value
  .undo           (--undo) take back the last input, state and all
Ctrl+D in a snapshot reverts it; at depth 0 it exits.
--undo: every input that runs code runs in a new snapshot, labelled with the input, at most N
(default ${UNDO_CAP}) deep; .exit and Ctrl+D end the whole session.
The history is kept in memory. BUN_SNAPSHOT_REPL_HISTORY=file keeps it in that file across
sessions instead (created mode 0600; a symbolic link there is refused).
`;

/** Parses the arguments of `repl`: the options, or a message saying what is wrong. */
export function parseReplArgs(args: string[]): ReplOptions | { error: string } | { help: true } {
  const o: ReplOptions = { undo: false, undoCap: UNDO_CAP };
  for (const a of args) {
    if (a === "--help" || a === "-h") return { help: true };
    const cap = /^--undo=(\d+)$/.exec(a);
    if (a === "--undo") o.undo = true;
    else if (cap && Number(cap[1]) > 0) {
      o.undo = true;
      o.undoCap = Number(cap[1]);
    }
    else if (a.startsWith("-")) return { error: `unknown option ${a}` };
    else if (o.module === undefined) o.module = a;
    else return { error: `one module at most (got ${JSON.stringify(o.module)} and ${JSON.stringify(a)})` };
  }
  return o;
}

/** Starts the REPL; resolves once it runs (it ends the process when it exits). Returns the exit code when it cannot start. */
export async function runRepl(args: string[]): Promise<number> {
  const o = parseReplArgs(args);
  if ("help" in o) {
    process.stdout.write(REPL_USAGE);
    return 0;
  }
  if ("error" in o) {
    process.stderr.write(`bun-snapshot repl: ${o.error}\n${REPL_USAGE}`);
    return 2;
  }
  const missing = replUnavailable();
  if (missing) {
    process.stderr.write(`bun-snapshot repl: ${missing}\n`);
    return 1;
  }
  let ns: Record<string, unknown> | undefined;
  if (o.module !== undefined) {
    const path = resolve(o.module);
    if (!existsSync(path)) {
      process.stderr.write(`bun-snapshot repl: no module at ${path}\n`);
      return 1;
    }
    ns = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  }
  const history = openHistory(process.env, (line) => process.stderr.write(line + "\n"));
  const banner = o.undo
    ? `bun-snapshot repl --undo (Bun ${Bun.version}): every input runs in a snapshot; .undo takes the last one back. .help lists the commands.`
    : `bun-snapshot repl (Bun ${Bun.version}): .snap [label] takes a snapshot, .back reverts it, .help lists the commands.`;
  process.stdout.write(banner + "\n");
  if (ns) {
    const names = Object.keys(ns).filter((n) => n !== "default");
    process.stdout.write(`Loaded ${o.module}: ${names.length ? names.join(", ") : "no named exports"} (the namespace is $module)\n`);
  }
  startSnapshotRepl({
    input: process.stdin,
    output: process.stdout,
    terminal: Boolean(process.stdout.isTTY),
    colors: colorAllowed() ? undefined : false,
    context: ns,
    contextName: ns ? "$module" : undefined,
    history,
    undo: o.undo,
    undoCap: o.undoCap,
    onEnd: endSession,
  });
  return 0;
}

