#!/usr/bin/env bun
// `bun-snapshot`: the command line. Subcommands: run, --help.
import { SnapshotError } from "../errors.ts";
import { execSafe } from "../safe.ts";

const HELP = `bun-snapshot: process snapshots for Bun

Usage:
  bun-snapshot run <file> [args...]   run a script with Bun, snapshot-safe (JSC collector
                                      and JIT threads off, so snapshot children cannot hang)
  bun-snapshot --help                 this text

Other ways to start a process snapshot-safe:
  bun --preload bun-snapshot/safe app.ts
  bunfig.toml: preload = ["bun-snapshot/safe"]   (covers bun run and bun --interactive)
  BUN_JSC_useConcurrentJIT=0 BUN_JSC_useConcurrentGC=0 BUN_JSC_numberOfGCMarkers=1 bun repl
`;

// Runs the subcommand named by argv; returns the exit code for the ones that return.
function main(argv: string[]): number {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === "--help" || cmd === "-h" || cmd === "help") {
    process.stdout.write(HELP);
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === "run") {
    const args = rest[0] === "--" ? rest.slice(1) : rest;
    if (args.length === 0) {
      process.stderr.write("bun-snapshot run: name a script to run, e.g. `bun-snapshot run app.ts`\n");
      return 2;
    }
    execSafe(args);
  }
  process.stderr.write(`bun-snapshot: unknown command ${JSON.stringify(cmd)}; see \`bun-snapshot --help\`\n`);
  return 2;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  if (!(e instanceof SnapshotError)) throw e;
  process.stderr.write(`bun-snapshot: ${e.message}\n`);
  process.exitCode = 1;
}
