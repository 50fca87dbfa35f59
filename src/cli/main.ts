#!/usr/bin/env bun
// `bun-snapshot`: the command line. Subcommands: run, attach, ps, repl, doctor; --version, --help.
// Exit status: 0 done, 1 the evaluation or the script failed, 2 usage error or nothing to attach to.
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import pkg from "../../package.json" with { type: "json" };
import { SnapshotError } from "../errors.ts";
import { ensureSafe, execSafe } from "../safe/mode.ts";
import { envWords, OPTIONAL_ENV, SAFE_ENV } from "../switches.ts";
import { EXIT, parse } from "./args.ts";

const HELP = `bun-snapshot: process snapshots for Bun

Usage:
  bun-snapshot run [--attach] <file> [args...]
                                      run a script with Bun, snapshot-safe (JSC collector
                                      and JIT threads off, so snapshot children cannot hang);
                                      --attach: and attachable (bun-snapshot attach <pid>)
  bun-snapshot attach <pid> [-e <code>] [-t <ms>] [--json]
                                      a REPL in a copy of a running attachable process (it
                                      keeps serving), or one evaluation's value
  bun-snapshot ps                     this user's attachable processes: pid, age, command
  bun-snapshot repl [--undo[=N]] [module]
                                      a REPL with snapshot commands (.snap, .back, .to N,
                                      .commit, .snaps, .trial); --undo: .undo takes back an input
  bun-snapshot doctor [--json|--markdown]
                                      which Bun APIs work, fail fast or hang in a snapshot
                                      child on this machine (exit status 1 if any hangs)
  bun-snapshot <command> --help       a command's options
  bun-snapshot --version, --help

Exit status: 0 done, 1 the evaluation or the script failed, 2 usage error or nothing to attach to.
Environment: NO_COLOR turns colors off; BUN_SNAPSHOT_DIR (absolute) moves the attach sockets.

Other ways to start a process snapshot-safe:
  bun --preload bun-snapshot/safe app.ts
  bunfig.toml: preload = ["bun-snapshot/safe"]   (covers bun run and bun --interactive)
  ${envWords(SAFE_ENV)} \\
  ${envWords(OPTIONAL_ENV)} bun repl          (the last one where Bun 1.4+ knows it)
`;

const RUN_USAGE = `Usage: bun-snapshot run [--attach] [--] <file> [args...]

Runs <file> with Bun exactly as \`bun <file>\` would, but snapshot-safe (the JSC collector and JIT
threads off). Bun's own flags before <file> are passed on (e.g. run --smol app.ts).

Options:
  --attach      make it attachable too, and print its pid once on stderr
  -h, --help    this text

Exit status: the script's.
`;

const PRELOAD_ATTACH = join(import.meta.dir, "../attach/preload.ts");

// When `run` could not re-execute: the script runs on in this process, as `bun <args>` would
// have run it (--preload modules first), not snapshot-safe. Other Bun flags need a new process.
async function runHere(args: string[]): Promise<number | undefined> {
  let i = 0;
  const preloads: string[] = [];
  for (; args[i] === "--preload" && args[i + 1] !== undefined; i += 2) preloads.push(args[i + 1]!);
  if (args[i] === undefined || args[i]!.startsWith("-")) return EXIT.failed;
  for (const p of preloads) await import(p);
  const script = resolve(args[i]!);
  process.argv = [process.argv[0]!, script, ...args.slice(i + 1)];
  await import(pathToFileURL(script).href);
  return undefined;
}

// `run`: our flags before the script are ours (--attach, --help); Bun's pass on. Returns only
// when the re-exec failed (said on stderr): undefined once the script ran here instead.
async function run(args: string[]): Promise<number | undefined> {
  const bunArgs: string[] = [];
  let attach = false;
  let i = 0;
  for (; i < args.length && args[i]!.startsWith("-"); i++) {
    const a = args[i]!;
    if (a === "--") {
      i++;
      break;
    }
    if (a === "--help" || a === "-h") {
      process.stdout.write(RUN_USAGE);
      return EXIT.done;
    }
    if (a === "--attach") attach = true;
    else bunArgs.push(a);
  }
  if (i >= args.length) {
    process.stderr.write(`bun-snapshot run: name a script to run, e.g. \`bun-snapshot run app.ts\`\n${RUN_USAGE}`);
    return EXIT.usage;
  }
  const full = [...(attach ? ["--preload", PRELOAD_ATTACH] : []), ...bunArgs, ...args.slice(i)];
  execSafe(full, attach ? { BUN_SNAPSHOT_ANNOUNCE_PID: "1" } : {});
  if (attach) process.env["BUN_SNAPSHOT_ANNOUNCE_PID"] = "1";
  return await runHere(full); // the exec failed, and said so
}

// Runs the subcommand named by argv; returns the exit code for the ones that return (undefined:
// the script that `run` ran in this process sets its own).
async function main(argv: string[]): Promise<number | undefined> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd.startsWith("-") || cmd === "help") {
    const p = parse(argv, { help: { type: "boolean", short: "h" }, version: { type: "boolean", short: "v" } });
    if (!("error" in p) && p.values.version && !p.values.help) {
      process.stdout.write(`bun-snapshot ${pkg.version} (Bun ${Bun.version})\n`);
      return EXIT.done;
    }
    if (!("error" in p) && (p.values.help || cmd === "help")) {
      process.stdout.write(HELP);
      return EXIT.done;
    }
    process.stderr.write(`${"error" in p ? `bun-snapshot: ${p.error}\n` : ""}${HELP}`);
    return EXIT.usage;
  }
  if (cmd === "run") return await run(rest);
  if (cmd === "repl") {
    if (!rest.includes("--help") && !rest.includes("-h")) ensureSafe(); // re-executes this command snapshot-safe when the switches are missing
    const { runRepl } = await import("./repl.ts");
    return await runRepl(rest);
  }
  if (cmd === "attach") {
    const { runAttach } = await import("./attach.ts");
    return await runAttach(rest);
  }
  if (cmd === "ps") {
    const { runPs } = await import("./ps.ts");
    return runPs(rest);
  }
  if (cmd === "doctor") {
    // Re-executes this command snapshot-safe when the switches are missing (not for --help).
    if (!rest.includes("--help") && !rest.includes("-h")) ensureSafe();
    const { doctor } = await import("./doctor.ts");
    // The doctor leaves servers and a Worker of its warm-up behind: end here, output written.
    process.exit(await doctor(rest));
  }
  process.stderr.write(`bun-snapshot: unknown command ${JSON.stringify(cmd)}; see \`bun-snapshot --help\`\n`);
  return EXIT.usage;
}

try {
  const code = await main(process.argv.slice(2));
  if (code !== undefined) process.exitCode = code;
} catch (e) {
  if (!(e instanceof SnapshotError)) throw e;
  process.stderr.write(`bun-snapshot: ${e.message}\n`);
  process.exitCode = e.code === "EINVAL" ? EXIT.usage : EXIT.failed;
}
