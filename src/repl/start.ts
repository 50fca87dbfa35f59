// Starts the snapshot REPL over any pair of streams: `bun-snapshot repl` on stdin/stdout, an
// attach session over its connection (in the attached copy, from depth 1). A snapshot is a
// blocking fork: `.snap` forks; the child returns from the command and the same REPL goes on in
// it (same terminal, same readline); the parent stays blocked inside the command until the
// child has ended, then says how it ended, takes the history the child left in the shared
// history, and shows its own prompt again.
// A namespace import: node:repl of Bun 1.2/1.3 has no start(), and a named import of it would fail to link.
import * as nodeRepl from "node:repl";
import type { REPLServer } from "node:repl";
import type vm from "node:vm";
import { commit, depth } from "../api/snapshot.ts";
import { messages, SnapshotError } from "../errors.ts";
import { defineCommands, undoEval } from "./commands.ts";
import { promptFor } from "./format.ts";
import { appendHistory, memoryHistory, readHistory } from "./history.ts";
import { leave, say, session, setSession, UNDO_CAP, type Eval, type Key, type Repl, type Session, type SnapshotReplOptions, type UndoOptions } from "./state.ts";

export { UNDO_CAP, type SnapshotReplOptions };

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

// Keys before the REPL sees them: while a .trial runs only Ctrl+C counts (it kills the copy);
// Ctrl+D on an empty line reverts a snapshot; Ctrl+C on an empty line in a snapshot explains,
// never reverts.
function wrapKeys(r: Repl, buffered: () => boolean): void {
  const s = session();
  const inner = r._ttyWrite;
  r._ttyWrite = (d: string, key: Key) => {
    key ||= {};
    if (s.trialCancel) {
      if (key.ctrl && key.name === "c") s.trialCancel();
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

/** Ends the whole local session from any depth: a child commits first, so that its ancestors end too. */
export function endSession(code = 0): never {
  if (depth() > 0 && !session().committed) commit();
  process.exit(code);
}

/**
 * Why this Bun cannot run the snapshot REPL, or undefined when it can: it is built on node:repl's
 * start(), which Bun 1.2 and 1.3 do not have (their `bun repl` is a separate package).
 */
export function replUnavailable(): string | undefined {
  return typeof nodeRepl.start === "function" ? undefined : messages.replNeedsNewerBun(Bun.version);
}

/**
 * Starts the snapshot REPL on `input`/`output` in this process (one per process: a snapshot child
 * carries it on). The session's first depth is this process's depth: `.back`, `.to` and Ctrl+D
 * never go above it, and `.exit` or Ctrl+D there calls `onEnd`. On a stream that is not the
 * real terminal Ctrl+C is a byte the line editor handles (it cancels the line); it cannot
 * interrupt running code there.
 */
export function startSnapshotRepl(so: SnapshotReplOptions): REPLServer {
  const missing = replUnavailable();
  if (missing) throw new SnapshotError("ENOTSUP", missing);
  const start = nodeRepl.start;
  const o: UndoOptions = { undo: so.undo ?? false, undoCap: so.undoCap ?? UNDO_CAP };
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
    ...(so.colors === undefined ? {} : { useColors: so.colors }),
    useGlobal: so.useGlobal ?? false,
    historySize: 1000,
    breakEvalOnSigint: onTty,
    preview: false,
  } as Parameters<typeof start>[0]) as Repl;
  const bufferedSym = Object.getOwnPropertySymbols(r).find((x) => x.description === "bufferedCommand");
  const buffered = () => bufferedSym !== undefined && Boolean((r as unknown as Record<symbol, string>)[bufferedSym]);
  const s: Session = { r, o, so, top, history, inputs: 0, lastLine: "", where: [], evalInner: r.eval as Eval, capTold: false, discarding: false, committed: false, busy: false };
  setSession(s);
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
