// The commands of the snapshot REPL: .snap, .back, .to, .commit, .snaps, .trial, .exit (and with
// --undo, .undo, and the snapshot each input runs in).
import * as nodeRepl from "node:repl";
import { inspect } from "node:util";
import { isNativeError } from "node:util/types";
import vm from "node:vm";
import { commit, depth, revertTo, snapshots } from "../api/snapshot.ts";
import { startTrial, type TrialResult } from "../api/trial.ts";
import { SnapshotError } from "../errors.ts";
import { describeStatus } from "../status.ts";
import { SIGKILL } from "../sys/process.ts";
import { describeSnapshot, endedMessage, short } from "./format.ts";
import { atTop, entered, leave, resumed, say, session, snapsTable, tryFork, type EvalCallback, type Repl } from "./state.ts";

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
export function undoEval(this: unknown, code: string, context: vm.Context, file: string, cb: EvalCallback): void {
  const s = session();
  const run = () => s.evalInner.call(this, code, context, file, cb);
  if (code.trim() === "" || !complete(code)) return run();
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
  say(endedMessage(depth(), f.outcome, `undone: "${label}"; its snapshot`));
  cb(null);
}

// In a trial child: the expression's value as the REPL would print it, or its error in one line
// (node:repl's stack frames say nothing here). Always a promise: the child awaits it in place.
function evalForTrial(expr: string): Promise<{ ok: boolean; text: string }> {
  const r = session().r;
  return new Promise((resolve) => {
    // (An error from the REPL's context is not an instance of this realm's Error.)
    const failed = (err: unknown) =>
      resolve({ ok: false, text: `Uncaught ${isNativeError(err) ? `${err.name}: ${err.message.split("\n")[0]}` : inspect(err)}` });
    // node:repl hands an error thrown while running (or a rejected await) to _handleError, not to the callback.
    (r as unknown as { _handleError: (e: unknown) => void })._handleError = failed;
    session().evalInner.call(r, expr + "\n", r.context, "repl", (err, value) => {
      if (typeof nodeRepl.Recoverable === "function" && err instanceof nodeRepl.Recoverable) return resolve({ ok: false, text: "SyntaxError: the expression is incomplete" });
      if (err) return failed(err);
      resolve({ ok: true, text: r.writer(value) });
    });
  });
}

// `.trial <expr>`: the expression runs in a throwaway copy (trial()), which never returns into
// the REPL; this session waits for the value with its input held, Ctrl+C killing the copy.
function trialCommand(expr: string): void {
  const s = session();
  const r = s.r;
  if (expr.trim() === "") {
    say("(.trial needs an expression, e.g. .trial db.size)");
    return r.displayPrompt();
  }
  const blocked = s.so.forkBlocker?.();
  if (blocked) {
    say(`(no snapshot: ${blocked})`);
    return r.displayPrompt();
  }
  let t: ReturnType<typeof startTrial<{ ok: boolean; text: string }>>;
  try {
    t = startTrial(() => evalForTrial(expr), { ...s.so.forkOptions, detached: false, label: "trial" });
  } catch (e) {
    if (!(e instanceof SnapshotError)) throw e;
    say(`(no snapshot: ${e.message})`);
    return r.displayPrompt();
  }
  const show = (res: TrialResult<{ ok: boolean; text: string }>) => {
    s.trialCancel = undefined;
    if (res.ok) say(res.value.text + (res.value.ok ? "" : "  (in the trial; nothing changed here)"));
    else if (res.outcome.signal === "SIGKILL") say("(cancelled with Ctrl+C; nothing changed here)");
    else say(`(the trial ended with ${describeStatus(res.outcome.status)} before giving a value; nothing changed here)`);
    r.displayPrompt();
  };
  // The copy may end before its function returns (process.exit in the expression): no promise then.
  if (!("result" in t)) return show(t);
  const running = t;
  s.trialCancel = () => {
    say("^C");
    running.kill(SIGKILL);
  };
  void running.result.then(show);
}

// The `.snap`, `.back`, `.to`, `.commit`, `.snaps`, `.trial` (and with --undo `.undo`) commands.
export function defineCommands(r: Repl): void {
  const s = session();
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
      say(endedMessage(depth(), f.outcome, describeSnapshot(depth() + 1, label)));
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

