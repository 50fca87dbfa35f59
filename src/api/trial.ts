// trial(): run a function in a snapshot child and bring its value back by structured clone.
// A plain value comes back synchronously; a thenable makes trial() return a promise: the child
// says so on its "said" pipe, the parent's event loop runs on, and the child, which never
// returns to the caller, runs its own event loop in place until the promise settles.
import { deserialize, serialize } from "bun:jsc";
import { runInLoop } from "../bun-internals/pump.ts";
import { messages, SnapshotError } from "../errors.ts";
import { sendError, sendValue, takeValue } from "../fork/channel.ts";
import { endChild, REHEARSAL } from "../fork/exit.ts";
import { forkSnapshot, type ParentSide } from "../fork/fork.ts";
import { state } from "../fork/lineage.ts";
import type { Outcome } from "../fork/outcome.ts";
import { ASYNC_BYTE } from "../fork/wait.ts";
import type { TrialOptions } from "../options.ts";
import { describeStatus } from "../status.ts";
import { writeAll } from "../sys/fd.ts";

/** A trial's error as it crosses back to the parent. */
export interface TrialError {
  name: string;
  message: string;
  stack?: string;
}

/**
 * What trial() gives: the value, or the error that says why there is none; and how the child
 * ended. `value` reads as undefined on a failure, so `(await trial(fn)).value` type-checks.
 */
export type TrialResult<T> =
  | { ok: true; value: T; outcome: Outcome }
  | { ok: false; error: TrialError; outcome: Outcome; value?: undefined };

// A plain description of anything thrown.
function describeThrown(e: unknown): TrialError {
  if (e instanceof Error) return { name: e.name, message: e.message, ...(e.stack ? { stack: e.stack } : {}) };
  return { name: "Error", message: `${messages.trialThrew()} a non-Error value: ${Bun.inspect(e)}` };
}

// In the child: send the value (or why it cannot be sent) and end. With REHEARSAL, in a parent
// about to fork: the same calls, sending and ending nothing (a function first called in the
// child is compiled there, on copy-on-write pages: ~100 page faults each).
function deliver(value: unknown, rehearsal?: typeof REHEARSAL): never {
  const dry = rehearsal === REHEARSAL;
  const fd = state().toParent;
  let bytes: Uint8Array;
  try {
    bytes = serialize(value, { binaryType: "nodebuffer" });
  } catch (e) {
    sendError(fd, { name: "DataCloneError", message: messages.trialUncloneable(e instanceof Error ? e.message : String(e)) });
    return endChild(0);
  }
  sendValue(fd, bytes, dry);
  if (dry) return undefined as never;
  return endChild(0);
}

// In the child: the function threw or its promise rejected (or the child cannot go on).
function fail(e: unknown): never {
  sendError(state().toParent, describeThrown(e));
  return endChild(0);
}

const thenable = (v: unknown): v is PromiseLike<unknown> =>
  v !== null && (typeof v === "object" || typeof v === "function") && typeof (v as PromiseLike<unknown>).then === "function";

// The child's side: run fn and end with its value. For a thenable, tell the parent first, then
// run the event loop right here until it settles: the caller's code never runs again in this
// process, and nothing is thrown through it. fn runs inside the nested loop from its first line,
// so that what it starts (a read, a fetch) completes there (see bun-internals/pump.ts).
function runChild(fn: () => unknown, rehearsal?: typeof REHEARSAL): never {
  const dry = rehearsal === REHEARSAL;
  const start = (): Promise<unknown> => startChild(fn, rehearsal);
  const never = () => fail(new SnapshotError("EINVAL", messages.trialNeverSettled()));
  // The rehearsal (see deliver): the loop's own functions run here once, nothing else does.
  if (dry) return void runInLoop(start, never, true) as never;
  // Bun's nested loop reports an uncaught error but does not end the process: end it here (the
  // trial fails with that error), unless the app handles such errors itself.
  process.on("uncaughtException", (e) => {
    if (process.listenerCount("uncaughtException") > 1) return;
    console.error(e);
    fail(e);
  });
  const run = runInLoop(start, never);
  if (!run.started) start(); // this Bun never ran it: a plain value is still delivered
  if (!run.settled) return fail(new SnapshotError("ENOTSUP", messages.trialNoLoop(Bun.version)));
  return endChild(0); // settled; its handler ends the child first
}

// The start of the child's side: fn's value delivered, or its promise set to be. With
// REHEARSAL (in the parent about to fork), fn is not called: a plain value's path is compiled.
function startChild(fn: () => unknown, rehearsal?: typeof REHEARSAL): Promise<unknown> {
  let v: unknown;
  try {
    v = rehearsal === REHEARSAL ? 0 : fn();
  } catch (e) {
    return fail(e);
  }
  if (!thenable(v)) return deliver(v, rehearsal);
  writeAll(state().said, new Uint8Array([ASYNC_BYTE]));
  const p = Promise.resolve(v);
  p.then(deliver, fail);
  return p;
}

// The parent's result from how the child ended and what it said.
function result<T>(r: ParentSide, options: TrialOptions | undefined): TrialResult<T> {
  const { outcome, message, timedOut } = r;
  if (timedOut) return { ok: false, error: { name: "SnapshotError", message: messages.trialTimeout(options?.timeoutMs ?? 0) }, outcome };
  if (message.value) return { ok: true, value: takeValue(message, deserialize) as T, outcome };
  if (message.error) return { ok: false, error: message.error, outcome };
  return { ok: false, error: { name: "SnapshotError", message: messages.trialNoValue(describeStatus(outcome.status)) }, outcome };
}

/**
 * Runs `fn` in a snapshot child and gives its value to the parent by structured clone; the
 * parent's state is untouched. When `fn` returns a thenable (an async function, a promise),
 * trial() returns a Promise of the result, always: the parent blocks only until the child has
 * said so, then its event loop runs (a server keeps serving) until the child has ended.
 * Otherwise it returns the result synchronously. A throw or rejection, an uncloneable value, a
 * child that dies or one past `timeoutMs` gives `ok: false` with an error saying which. The
 * child never answers anyone (no accepting on inherited listeners, inherited connections cut)
 * and never takes the terminal; it dies with its parent.
 */
export function trial<T>(fn: () => PromiseLike<T>, options?: TrialOptions): Promise<TrialResult<T>>;
export function trial<T>(fn: () => T, options?: TrialOptions): TrialResult<T>;
export function trial<T>(fn: () => T | PromiseLike<T>, options?: TrialOptions): TrialResult<T> | Promise<TrialResult<T>> {
  const r = startTrial(fn, options);
  return "result" in r ? r.result : r;
}

/** An async trial while its child runs: its result to come, and a way to signal the child. */
export interface RunningTrial<T> {
  pid: number;
  result: Promise<TrialResult<T>>;
  /** Signals the child; false once it has been reaped. */
  kill(signal?: NodeJS.Signals | number): boolean;
}

/** Package-internal trial(): an async one comes with its child's handle (the REPL cancels with it). */
export function startTrial<T>(fn: () => T | PromiseLike<T>, options?: TrialOptions): TrialResult<T> | RunningTrial<T> {
  if (typeof fn !== "function") throw new SnapshotError("EINVAL", messages.badTrialFn(fn));
  if (options?.detached) throw new SnapshotError("EINVAL", messages.trialDetached());
  // The child's code, compiled here before the fork (see deliver; runChild's rehearsal runs startChild's).
  (runChild as (f: typeof fn, r: typeof REHEARSAL) => void)(fn, REHEARSAL);
  const r = forkSnapshot(options, { trial: true });
  if (r.role === "child") return runChild(fn);
  if ("exited" in r) throw new SnapshotError("EINVAL", messages.trialDetached());
  if ("later" in r) return { pid: r.pid, kill: r.kill, result: r.later.then((p) => result<T>(p, options)) };
  return result<T>(r, options);
}
