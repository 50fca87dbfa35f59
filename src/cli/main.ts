#!/usr/bin/env bun
// `bun-snapshot`: the command line. Subcommands: run, repl, attach, doctor, --help.
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { SnapshotError } from "../errors.ts";
import { ensureSafe, execSafe } from "../safe/mode.ts";
import { envWords, OPTIONAL_ENV, SAFE_ENV } from "../switches.ts";

const HELP = `bun-snapshot: process snapshots for Bun

Usage:
  bun-snapshot run [--attach] <file> [args...]
                                      run a script with Bun, snapshot-safe (JSC collector
                                      and JIT threads off, so snapshot children cannot hang);
                                      --attach: and attachable (bun-snapshot attach <pid>)
  bun-snapshot attach <pid> [--eval <expression>]
                                      a REPL in a copy of a running attachable process (it
                                      keeps serving), or one expression's value
  bun-snapshot repl [--undo[=N]] [module]
                                      a REPL with snapshot commands (.snap, .back, .to N,
                                      .commit, .snaps, .trial); --undo: .undo takes back an input
  bun-snapshot doctor [--json|--markdown]
                                      which Bun APIs work, fail fast or hang in a snapshot
                                      child on this machine (exit status 1 if any hangs)
  bun-snapshot --help                 this text

Other ways to start a process snapshot-safe:
  bun --preload bun-snapshot/safe app.ts
  bunfig.toml: preload = ["bun-snapshot/safe"]   (covers bun run and bun --interactive)
  ${envWords(SAFE_ENV)} \\
  ${envWords(OPTIONAL_ENV)} bun repl          (the last one where Bun 1.4+ knows it)
`;

// When `run` could not re-execute: the script runs on in this process, as `bun <args>` would
// have run it (--preload modules first), not snapshot-safe. Other Bun flags need a new process.
async function runHere(args: string[]): Promise<number | undefined> {
  let i = 0;
  const preloads: string[] = [];
  for (; args[i] === "--preload" && args[i + 1] !== undefined; i += 2) preloads.push(args[i + 1]!);
  if (args[i] === undefined || args[i]!.startsWith("-")) return 1;
  for (const p of preloads) await import(p);
  const script = resolve(args[i]!);
  process.argv = [process.argv[0]!, script, ...args.slice(i + 1)];
  await import(pathToFileURL(script).href);
  return undefined;
}

// Runs the subcommand named by argv; returns the exit code for the ones that return (undefined:
// the script that `run` ran in this process sets its own).
async function main(argv: string[]): Promise<number | undefined> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === "--help" || cmd === "-h" || cmd === "help") {
    process.stdout.write(HELP);
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === "run") {
    let args = rest[0] === "--" ? rest.slice(1) : rest;
    if (args[0] === "--attach") args = ["--preload", join(import.meta.dir, "../attach/preload.ts"), ...args.slice(1)];
    if (args.length === 0 || args[args.length - 1] === join(import.meta.dir, "../attach/preload.ts")) {
      process.stderr.write("bun-snapshot run: name a script to run, e.g. `bun-snapshot run app.ts`\n");
      return 2;
    }
    execSafe(args);
    return await runHere(args); // the exec failed, and said so
  }
  if (cmd === "repl") {
    ensureSafe(); // re-executes this command snapshot-safe when the switches are missing
    const { runRepl } = await import("./repl.ts");
    return await runRepl(rest);
  }
  if (cmd === "attach") {
    const { runAttach } = await import("./attach.ts");
    return await runAttach(rest);
  }
  if (cmd === "doctor") {
    ensureSafe(); // re-executes this command snapshot-safe when the switches are missing
    const { doctor } = await import("./doctor.ts");
    // The doctor leaves servers and a Worker of its warm-up behind: end here, output written.
    process.exit(await doctor(rest));
  }
  process.stderr.write(`bun-snapshot: unknown command ${JSON.stringify(cmd)}; see \`bun-snapshot --help\`\n`);
  return 2;
}

try {
  const code = await main(process.argv.slice(2));
  if (code !== undefined) process.exitCode = code;
} catch (e) {
  if (!(e instanceof SnapshotError)) throw e;
  process.stderr.write(`bun-snapshot: ${e.message}\n`);
  process.exitCode = 1;
}
