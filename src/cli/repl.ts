// `bun-snapshot repl [--undo] [module]`: a node:repl session with snapshot commands. A snapshot
// is a blocking fork: `.snap` forks; the child returns from the command and the same REPL goes on
// in it (same terminal, same readline); the parent stays blocked inside the command until the
// child has ended, then says how it ended, takes the history the child left in the shared
// history file, and shows its own prompt again. With --undo every input runs in a new snapshot,
// so `.undo` (a revert) gives back the state from before the input. Started snapshot-safe by
// main.ts (ensureSafe) before this module is loaded.
// startSnapshotRepl runs the same REPL over any streams: runRepl on stdin/stdout, an attach
// session (src/attach.ts) over its connection, in the attached copy, from depth 1.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { Recoverable, start, type REPLServer } from "node:repl";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { inspect } from "node:util";
import { isNativeError } from "node:util/types";
import vm from "node:vm";
import { SnapshotError } from "../errors.ts";
import { type Fork, type SnapshotOptions } from "../fork.ts";
import type { Outcome } from "../outcome.ts";
import { commit, depth, fork, revert, revertTo, snapshots } from "../snapshot.ts";
import { describeStatus } from "../status.ts";
import { appendHistory, closeHistory, memoryHistory, openHistory, readHistory, trialSlot, type HistoryFile } from "./repl-history.ts";

/** With --undo, how deep the snapshots of inputs go; past it inputs run without a new one. */
export const UNDO_CAP = 50;

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
Environment: BUN_SNAPSHOT_REPL_HISTORY=file keeps the history in that file across sessions.
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

// Where a snapshot was taken: the input count and the text of the input that took it.
interface Where {
  input: number;
  text: string;
  /** Taken by --undo for an input (its label is the input; the prompt leaves it out). */
  auto: boolean;
}

// A readline key, as node:readline passes it to _ttyWrite.
interface Key {
  name?: string;
  ctrl?: boolean;
  meta?: boolean;
  shift?: boolean;
}

// The internals of node:repl this module builds on (Node's lib/repl.js, which Bun ships).
type Repl = REPLServer & {
  _ttyWrite: (d: string, key: Key) => void;
  history: string[];
  historySize: number;
  line: string;
};
type EvalCallback = (err: Error | null, result?: unknown) => void;
type Eval = (code: string, context: vm.Context, file: string, cb: EvalCallback) => void;

/** A snapshot REPL over a pair of streams (startSnapshotRepl). */
export interface SnapshotReplOptions {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** Whether the other end is a terminal (line editing, keys, raw bytes such as Ctrl+C = 0x03). */
  terminal: boolean;
  /** Values put in scope (live: read through on each use; an assignment shadows one). */
  context?: Record<string, unknown>;
  /** A name for the `context` object itself in scope (e.g. "$module"). */
  contextName?: string;
  /** Evaluate in this process's global object (the app's globals in scope) instead of a new context. */
  useGlobal?: boolean;
  /** Where the history lives across snapshots (default: in memory, this session only). */
  history?: HistoryFile;
  /** The prompt for a depth and label (default promptFor: `snap> `, `snap[2:label]> `). */
  prompt?: (depth: number, label?: string) => string;
  /** Each input that runs code runs in a new snapshot (`.undo`). */
  undo?: boolean;
  /** The deepest snapshot undo takes (default UNDO_CAP). */
  undoCap?: number;
  /** Options of every snapshot the commands take (e.g. `{ foreground: false }` off the terminal). */
  forkOptions?: SnapshotOptions;
  /** Why a snapshot cannot be taken now (e.g. output still being sent), or undefined. */
  forkBlocker?: () => string | undefined;
  /** How `.snaps` names the rows above the session's first depth (default: depth 0 "(original)", "start"). */
  describeAbove?: (depth: number, label?: string) => { label: string; where: string };
  /** The session is over (.exit, Ctrl+D, end of input at the first depth): ends the process. */
  onEnd: (code: number) => void;
}

// The one session of this process (a child holds its own copy, as of its fork).
interface Session {
  r: Repl;
  o: ReplOptions;
  so: SnapshotReplOptions;
  /** The depth the session started at (0 for `bun-snapshot repl`, 1 in an attach session): it cannot be left, only ended. */
  top: number;
  history: HistoryFile;
  /** Inputs read so far (lines at the prompt), in this line of snapshots. */
  inputs: number;
  /** The last input read. */
  lastLine: string;
  /** Where each snapshot of the chain was taken, by depth. */
  where: Where[];
  /** Eval as node:repl made it (top-level await included), before --undo wraps it. */
  evalInner: Eval;
  /** --undo told that the cap is reached. */
  capTold: boolean;
  /** This process is a `.trial` child: the file its result goes to. */
  trialFile?: string;
  /** Keys left over from the chunk the child already read (dropped in the resumed parent). */
  discarding: boolean;
  committed: boolean;
  /** An input is running. */
  busy: boolean;
}

let s: Session;

// Writes to the REPL's output.
function say(text: string): void {
  s.r.output.write(text.endsWith("\n") ? text : text + "\n");
}

// A label cut to fit a prompt or a table cell.
function short(text: string, max: number): string {
  const one = text.replace(/\s+/g, " ").trim();
  return one.length > max ? one.slice(0, max - 1) + "…" : one;
}

/** The prompt for a depth and label: `snap> ` at depth 0, `snap[2:before-migration]> ` deeper. */
export function promptFor(d: number, label?: string): string {
  if (d === 0) return "snap> ";
  return `snap[${d}${label ? ":" + short(label, 24) : ""}]> `;
}

// This process's prompt (the label of the session's first depth is left out: it is not one the user gave).
function currentPrompt(): string {
  const d = depth();
  const w = s.where[d];
  return (s.so.prompt ?? promptFor)(d, w?.auto || d <= s.top ? undefined : snapshots()[d]?.label);
}

// A duration in words: 0.4s, 12s, 3m05s, 1h02m.
function age(ms: number): string {
  const sec = ms / 1000;
  if (sec < 10) return `${sec.toFixed(1)}s`;
  if (sec < 60) return `${Math.floor(sec)}s`;
  const m = Math.floor(sec / 60);
  if (m < 60) return `${m}m${String(Math.floor(sec % 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

// Snapshot `d` as the messages name it: `snapshot 2 "before-migration"`.
function describeSnapshot(d: number, label?: string): string {
  return `snapshot ${d}${label ? ` "${short(label, 40)}"` : ""}`;
}

/** The `.snaps` table: depth, pid, label, age and where each snapshot of the chain was taken; the last row is this process. */
export function snapsTable(now = Date.now()): string {
  const rows = snapshots().map((i) => {
    const w = s.where[i.depth];
    const above = i.depth === 0 || i.depth < s.top || (i.depth === s.top && !w) ? (s.so.describeAbove ?? defaultAbove)(i.depth, i.label) : undefined;
    const where = above ? above.where : w ? `input ${w.input}: ${short(w.text, 50)}` : "?";
    const label = above ? above.label : i.label !== undefined ? short(i.label, 30) : "-";
    return [String(i.depth), String(i.pid), label, age(now - i.takenAt), where];
  });
  const head = ["depth", "pid", "label", "age", "taken at"];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const fmt = (cells: string[]) => cells.map((x, c) => (c === cells.length - 1 ? x : x.padEnd(widths[c]!))).join("  ");
  const lines = [fmt(head), ...rows.map(fmt)];
  if (s.committed) lines.push(`(snapshot ${depth()}, this one, is committed)`);
  return lines.join("\n");
}

// `.snaps` for the depths before the session: depth 0 is the original.
function defaultAbove(d: number, label?: string): { label: string; where: string } {
  return d === 0 ? { label: "(original)", where: "start" } : { label: label ?? "-", where: "before the session" };
}

// Forks for a command; a SnapshotError (EBUSY, EUNSAFE, ...) is told and gives undefined.
function tryFork(label: string | undefined): Fork | undefined {
  const blocked = s.so.forkBlocker?.();
  if (blocked) {
    say(`(no snapshot: ${blocked})`);
    return undefined;
  }
  try {
    return fork({ ...s.so.forkOptions, ...(label === undefined ? {} : { label }) });
  } catch (e) {
    if (!(e instanceof SnapshotError)) throw e;
    say(`(no snapshot: ${e.message})`);
    return undefined;
  }
}

// In a new child: record where it was taken and show its prompt.
function entered(auto: boolean): void {
  s.where[depth()] = { input: s.inputs, text: s.lastLine, auto };
  s.committed = false;
  s.r.setPrompt(currentPrompt());
}

// In a parent whose child has ended: the terminal and readline as this process needs them,
// the history including the child's lines, this depth's prompt.
function resumed(): void {
  const r = s.r;
  // Keys of the chunk the child already read (a paste) must not run a second time here.
  s.discarding = true;
  queueMicrotask(() => (s.discarding = false));
  // Only the real terminal has a mode to restore (a socket's client keeps its own raw mode).
  if (r.terminal && (r.input as unknown) === process.stdin && process.stdin.isTTY) {
    try {
      process.stdin.setRawMode(true);
    } catch {}
  }
  r.history = readHistory(s.history, r.historySize);
  r.setPrompt(currentPrompt());
}

// What the parent says when its child has ended.
function endedMessage(outcome: Outcome, what: string): string {
  return `(back at depth ${depth()}: ${what} ended with ${describeStatus(outcome.status)})`;
}

// Leaves this snapshot: revert(0); the parent resumes and says so.
function leave(): never {
  return revert(0);
}

// Ends the whole local session from any depth: a child commits first, so that its ancestors end too.
function endSession(code = 0): never {
  if (depth() > 0 && !s.committed) commit();
  process.exit(code);
}

// What a command that reverts says at the session's first depth.
function atTop(): string {
  return s.top === 0 ? "(at depth 0, the original: no snapshot to go back from)" : `(at depth ${s.top}, where this session started: no snapshot to go back from; .exit ends the session)`;
}

// Why this line cannot be committed, or undefined: a detached snapshot in the chain (an attach
// session's copy) has no parent waiting to be replaced, so neither it nor any snapshot under it
// can be kept (the library refuses commit() in the detached one itself with EINVAL).
function commitBlocker(): string | undefined {
  const d = depth();
  if (d === 0) return "(at depth 0, the original: nothing to commit)";
  if (snapshots()[d]!.detached) {
    try {
      commit();
    } catch (e) {
      if (!(e instanceof SnapshotError)) throw e;
      return `(no commit: ${e.message})`;
    }
  }
  const detached = snapshots().find((i) => i.detached && i.depth < d);
  if (detached) return `(no commit: snapshot ${detached.depth}${detached.label ? ` "${detached.label}"` : ""} above this one is detached, so there is no line of waiting parents to keep; .back or .to reverts instead)`;
  return undefined;
}

// Whether code is a complete program (it compiles as a script or, for top-level await, as an
// async function body); an incomplete line is still being typed and takes no --undo snapshot.
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor as new (body: string) => unknown;
function complete(code: string): boolean {
  try {
    new vm.Script(code);
    return true;
  } catch {}
  try {
    new AsyncFunction(code);
    return true;
  } catch {}
  return false;
}

// --undo: before an input runs, a snapshot labelled with it. The child runs the input; the
// parent resumes when the child ends (`.undo`), with the state from before the input.
function undoEval(this: unknown, code: string, context: vm.Context, file: string, cb: EvalCallback): void {
  const run = () => s.evalInner.call(this, code, context, file, cb);
  if (s.trialFile !== undefined || code.trim() === "" || !complete(code)) return run();
  if (depth() >= s.o.undoCap) {
    if (!s.capTold) say(`(--undo: ${s.o.undoCap} snapshots deep, the cap: inputs now run without a new snapshot; the next .undo takes them all back)`);
    s.capTold = true;
    return run();
  }
  const label = short(code, 60);
  const f = tryFork(label);
  if (!f) return run();
  if (f.role === "child") {
    entered(true);
    s.capTold = false;
    return run();
  }
  resumed();
  say(endedMessage(f.outcome, `undone: "${label}"; its snapshot`));
  cb(null);
}

// `.trial <expr>`: the expression runs in a throwaway child, which writes the value (as the REPL
// would print it) to a file and reverts; the parent prints it. Its own fork rather than trial()
// so that a pending promise is awaited by the child's event loop, without unwinding the REPL.
function trialCommand(expr: string): void {
  const r = s.r;
  if (expr.trim() === "") {
    say("(.trial needs an expression, e.g. .trial db.size)");
    return r.displayPrompt();
  }
  const slot = trialSlot(s.history);
  const f = tryFork("trial");
  if (!f) {
    slot.dispose();
    return r.displayPrompt();
  }
  if (f.role === "child") {
    s.trialFile = slot.path;
    // One line: the error's name and message (node:repl's stack frames say nothing here).
    // (An error from the REPL's context is not an instance of this realm's Error.)
    const failed = (err: unknown) => trialDone(false, `Uncaught ${isNativeError(err) ? `${err.name}: ${err.message.split("\n")[0]}` : inspect(err)}`);
    // node:repl hands an error thrown while running (or a rejected await) to _handleError, not to the callback.
    (r as unknown as { _handleError: (e: unknown) => void })._handleError = failed;
    s.evalInner.call(r, expr + "\n", r.context, "repl", (err, value) => {
      if (err instanceof Recoverable) return trialDone(false, "SyntaxError: the expression is incomplete");
      if (err) return failed(err);
      trialDone(true, r.writer(value));
    });
    return;
  }
  resumed();
  let result: { ok: boolean; text: string } | undefined;
  try {
    result = JSON.parse(readFileSync(slot.path, "utf8"));
  } catch {}
  slot.dispose();
  if (result) say(result.text + (result.ok ? "" : "  (in the trial; nothing changed here)"));
  else say(`(the trial ended with ${describeStatus(f.outcome.status)} before giving a value; nothing changed here)`);
  r.displayPrompt();
}

// In a trial child: hand the result to the parent and end.
function trialDone(ok: boolean, text: string): never {
  writeFileSync(s.trialFile!, JSON.stringify({ ok, text }));
  return revert(0);
}

// Puts the values (a module's exports) on the REPL's context as live bindings (an assignment shadows one).
function exposeValues(context: vm.Context, ns: Record<string, unknown>, nsName?: string): void {
  const names = Object.keys(ns).filter((n) => n !== "default");
  for (const name of names) {
    Object.defineProperty(context, name, {
      configurable: true,
      enumerable: true,
      get: () => ns[name],
      set: (v) => Object.defineProperty(context, name, { value: v, writable: true, configurable: true, enumerable: true }),
    });
  }
  if (nsName) Object.defineProperty(context, nsName, { value: ns, writable: true, configurable: true, enumerable: false });
}

// The `.snap`, `.back`, `.to`, `.commit`, `.snaps`, `.trial` (and with --undo `.undo`) commands.
function defineCommands(r: Repl): void {
  r.defineCommand("snap", {
    help: "Take a snapshot and continue in it: .snap [label]",
    action(arg: string) {
      const label = arg.trim() || undefined;
      const f = tryFork(label);
      if (!f) return r.displayPrompt();
      if (f.role === "child") {
        entered(false);
        return r.displayPrompt();
      }
      resumed();
      say(endedMessage(f.outcome, describeSnapshot(depth() + 1, label)));
      r.displayPrompt();
    },
  });
  r.defineCommand("back", {
    help: "Revert this snapshot: the state before it comes back",
    action() {
      if (depth() <= s.top) {
        say(atTop());
        return r.displayPrompt();
      }
      leave();
    },
  });
  r.defineCommand("to", {
    help: s.top === 0 ? "Revert to depth N (0 = the original): .to N" : `Revert to depth N (${s.top} = the attached copy; the live process cannot be reached): .to N`,
    action(arg: string) {
      const d = depth();
      const n = /^\d+$/.test(arg.trim()) ? Number(arg.trim()) : NaN;
      if (d <= s.top) say(atTop());
      else if (n < s.top) say(`(.to ${n}: depth ${n} is the live process, which this attach session cannot revert to; .to takes a depth from ${s.top} to ${d - 1})`);
      else if (!(n < d)) say(`(.to takes a depth from ${s.top} to ${d - 1}; this is depth ${d})`);
      else revertTo(n);
      r.displayPrompt();
    },
  });
  r.defineCommand("commit", {
    help: "Keep this line: when it ends, the whole session ends with its status",
    action() {
      const blocked = s.committed ? undefined : commitBlocker();
      if (blocked) say(blocked);
      else if (!s.committed) {
        commit();
        s.committed = true;
        say("(committed: the snapshots above will not resume; when this one ends, the session ends with its status)");
      }
      r.displayPrompt();
    },
  });
  r.defineCommand("snaps", {
    help: "The chain of snapshots: depth, pid, label, age, the input that took it",
    action() {
      say(snapsTable());
      r.displayPrompt();
    },
  });
  r.defineCommand("trial", {
    help: "Evaluate in a throwaway copy and print the value: .trial <expression>",
    action: trialCommand,
  });
  r.defineCommand("exit", {
    help: s.o.undo ? "End the session" : `Revert this snapshot (like .back); at depth ${s.top} end the session`,
    action() {
      if (depth() > s.top && !s.o.undo) leave();
      r.close();
    },
  });
  if (s.o.undo) {
    r.defineCommand("undo", {
      help: "Take back the last input, state and all",
      action() {
        if (depth() <= s.top) {
          say("(nothing to undo)");
          return r.displayPrompt();
        }
        leave();
      },
    });
  }
}

// Keys before the REPL sees them: a trial child only listens for Ctrl+C; Ctrl+D on an empty
// line reverts a snapshot; Ctrl+C on an empty line in a snapshot explains, never reverts.
function wrapKeys(r: Repl, buffered: () => boolean): void {
  const inner = r._ttyWrite;
  r._ttyWrite = (d: string, key: Key) => {
    key ||= {};
    if (s.trialFile !== undefined) {
      if (key.ctrl && key.name === "c") {
        say("^C");
        trialDone(false, "(cancelled with Ctrl+C)");
      }
      return;
    }
    if (s.discarding) return;
    const idle = r.line === "" && !buffered() && !s.busy;
    if (idle && depth() > s.top && key.ctrl && !s.o.undo) {
      if (key.name === "d") {
        say("");
        leave();
      }
      if (key.name === "c") {
        say(`^C\n(Ctrl+C does not leave a snapshot: Ctrl+D or .back goes back to depth ${depth() - 1})`);
        return r.displayPrompt();
      }
    }
    inner.call(r, d, key);
  };
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
  let ns: Record<string, unknown> | undefined;
  if (o.module !== undefined) {
    const path = resolve(o.module);
    if (!existsSync(path)) {
      process.stderr.write(`bun-snapshot repl: no module at ${path}\n`);
      return 1;
    }
    ns = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  }
  const history = openHistory();
  process.on("exit", () => closeHistory(history));
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
    context: ns,
    contextName: ns ? "$module" : undefined,
    history,
    undo: o.undo,
    undoCap: o.undoCap,
    onEnd: endSession,
  });
  return 0;
}

/**
 * Starts the snapshot REPL on `input`/`output` in this process (one per process: a snapshot child
 * carries it on). The session's first depth is this process's depth: `.back`, `.to` and Ctrl+D
 * never go above it, and `.exit` or Ctrl+D there calls `onEnd`. On a stream that is not the
 * real terminal Ctrl+C is a byte the line editor handles (it cancels the line); it cannot
 * interrupt running code there.
 */
export function startSnapshotRepl(so: SnapshotReplOptions): REPLServer {
  const o: ReplOptions = { undo: so.undo ?? false, undoCap: so.undoCap ?? UNDO_CAP };
  const onTty = (so.input as unknown) === process.stdin && process.stdin.isTTY === true;
  const history = so.history ?? memoryHistory();
  const top = depth();
  const promptOf = so.prompt ?? promptFor;
  // historySize is readline's option (node:repl passes it on); its own type leaves it out.
  // breakEvalOnSigint: Ctrl+C interrupts a running input or a pending top-level await; it works
  // through SIGINT, so only on the real terminal (over a socket Ctrl+C is a byte no busy loop reads).
  // preview: off. It evaluates through an inspector session whose answers can come after the
  // line was entered (seen after a snapshot ended: a stray blank line), and shows nothing in Bun 1.4.
  const r = start({
    prompt: promptOf(top),
    input: so.input,
    output: so.output,
    terminal: so.terminal,
    useGlobal: so.useGlobal ?? false,
    historySize: 1000,
    breakEvalOnSigint: onTty,
    preview: false,
  } as Parameters<typeof start>[0]) as Repl;
  const bufferedSym = Object.getOwnPropertySymbols(r).find((x) => x.description === "bufferedCommand");
  const buffered = () => bufferedSym !== undefined && Boolean((r as unknown as Record<symbol, string>)[bufferedSym]);
  s = { r, o, so, top, history, inputs: 0, lastLine: "", where: [], evalInner: r.eval as Eval, capTold: false, discarding: false, committed: false, busy: false };
  r.history = readHistory(history, r.historySize);
  const values = so.context;
  if (values) {
    exposeValues(r.context, values, so.contextName);
    r.on("reset", (context: vm.Context) => exposeValues(context, values, so.contextName));
  }
  // First of the "line" listeners, so that the line is in the history file before any fork.
  r.prependListener("line", (line: string) => {
    s.inputs++;
    s.lastLine = line;
    if (line.trim() !== "") appendHistory(history, line);
  });
  // Whether an input is running (a pending top-level await included): then Ctrl+C is the REPL's
  // (it interrupts the input) and Ctrl+D is typed ahead. It ends with the callback or with an
  // error, which node:repl hands to _handleError instead.
  const evalOuter: Eval = o.undo ? undoEval : s.evalInner;
  (r as { eval: Eval }).eval = function (code, context, file, cb) {
    s.busy = true;
    evalOuter.call(this, code, context, file, (err, ...rest) => {
      s.busy = false;
      cb(err, ...rest);
    });
  };
  const handleError = (r as unknown as { _handleError: (e: unknown) => unknown })._handleError;
  (r as unknown as { _handleError: (e: unknown) => unknown })._handleError = function (e: unknown) {
    s.busy = false;
    return handleError.call(this, e);
  };
  defineCommands(r);
  wrapKeys(r, buffered);
  // The REPL closed (.exit, Ctrl+D, Ctrl+C twice, end of input).
  r.on("exit", () => {
    if (depth() > s.top && !o.undo) leave();
    s.so.onEnd(0);
  });
  return r;
}
