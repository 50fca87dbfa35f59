// `bun-snapshot attach <pid> [--eval <code>] [--timeout <ms>] [--json]`: the client of src/attach/.
import { attachEval, stripControls } from "../attach/client.ts";
import { connectTo, locate } from "../attach/connect.ts";
import { messages, SnapshotError } from "../errors.ts";
import { colorAllowed, EXIT, parse } from "./args.ts";

export const ATTACH_USAGE = `Usage: bun-snapshot attach <pid> [options]

A REPL in a copy of the live attachable process <pid> (it keeps serving, untouched), or one
evaluation there. The copy ends when this command ends.

Options:
  -e, --eval <code>     run statements in a copy and print the completion value (as bun -p)
  -t, --timeout <ms>    end the copy and exit 1 when it is not done within <ms>
      --json            with --eval: print {"ok":true,"value":"..."} or {"ok":false,"error":"..."}
  -h, --help            this text

Exit status: 0 done, 1 the evaluation failed or timed out, 2 usage error or nothing to attach to.
Environment: BUN_SNAPSHOT_DIR (an absolute path) where the sockets are; NO_COLOR.
`;

// A usage error: the message, then the usage.
function usage(why: string): number {
  process.stderr.write(`bun-snapshot attach: ${why}\n${ATTACH_USAGE}`);
  return EXIT.usage;
}

/** Runs the attach command; resolves with the exit status. */
export async function runAttach(args: string[]): Promise<number> {
  const p = parse(args, {
    eval: { type: "string", short: "e" },
    timeout: { type: "string", short: "t" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if ("error" in p) return usage(p.error);
  const { values: v, positionals } = p;
  if (v.help) {
    process.stdout.write(ATTACH_USAGE);
    return EXIT.done;
  }
  if (positionals.length !== 1 || !/^[1-9]\d*$/.test(positionals[0]!)) return usage(positionals.length ? `one pid, a whole number: got ${positionals.map((a) => JSON.stringify(a)).join(" ")}` : "name the process: attach <pid>");
  const timeoutMs = v.timeout === undefined ? undefined : Number(v.timeout);
  if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0)) return usage(`--timeout takes a whole number of milliseconds above 0, not ${JSON.stringify(v.timeout)}`);
  if (v.json && v.eval === undefined) return usage("--json goes with --eval");
  const pid = Number(positionals[0]);
  if (v.eval !== undefined) return evalOnce(pid, v.eval, timeoutMs, v.json === true);
  return interactive(pid, timeoutMs);
}

// The exit status of a SnapshotError of the client: 1 for a timeout or an answer that is not one, else 2.
function statusOf(e: SnapshotError): number {
  return e.code === "ETIMEDOUT" || e.code === "EPROTO" ? EXIT.failed : EXIT.usage;
}

// --eval: statements run in a copy; prints the completion value (or --json).
async function evalOnce(pid: number, code: string, timeoutMs: number | undefined, json: boolean): Promise<number> {
  let r;
  try {
    r = await attachEval(pid, code, { timeoutMs });
  } catch (e) {
    if (!(e instanceof SnapshotError)) throw e;
    if (json) process.stdout.write(`${JSON.stringify({ ok: false, error: e.message })}\n`);
    else process.stderr.write(`${e.message}\n`);
    return statusOf(e);
  }
  // Not ours: what the other process sent is printed without the control sequences in it.
  if (json) process.stdout.write(`${JSON.stringify(r)}\n`);
  else if (r.ok) process.stdout.write(`${stripControls(r.value)}\n`);
  else process.stderr.write(`${stripControls(r.error)}\n`);
  return r.ok ? EXIT.done : EXIT.failed;
}

// A REPL in a copy of the process: keystrokes go there, its output comes here.
async function interactive(pid: number, timeoutMs: number | undefined): Promise<number> {
  const tty = process.stdin.isTTY === true;
  let conn;
  try {
    conn = await connectTo(locate(pid), (d) => process.stdout.write(d));
  } catch (e) {
    if (!(e instanceof SnapshotError)) throw e;
    process.stderr.write(`${e.message}\n`);
    return EXIT.usage;
  }
  conn.write(`${JSON.stringify({ mode: "repl", terminal: tty, columns: process.stdout.columns, colors: tty && colorAllowed() })}\n`);
  if (tty) process.stdin.setRawMode(true);
  const onInput = (d: Buffer) => conn.write(d);
  process.stdin.on("data", onInput);
  process.stdin.on("end", () => conn.end());
  let timer: ReturnType<typeof setTimeout> | undefined;
  let late = false;
  if (timeoutMs !== undefined)
    timer = setTimeout(() => {
      late = true;
      conn.close();
    }, timeoutMs);
  await conn.closed;
  clearTimeout(timer);
  if (tty) process.stdin.setRawMode(false);
  process.stdin.off("data", onInput);
  process.stdin.pause();
  if (late) process.stderr.write(`\n${messages.attachTimeout(timeoutMs!)}\n`);
  return late ? EXIT.failed : EXIT.done;
}
