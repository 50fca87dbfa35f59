// trial(): run a function in a snapshot child and bring its value back by structured clone.
import { deserialize, drainMicrotasks, serialize } from "bun:jsc";
import { messages, SnapshotError } from "../errors.ts";
import { sendError, sendValue, takeValue } from "../fork/channel.ts";
import { deferExit, endChild, isUnwind, onChildEnd, SnapshotUnwind } from "../fork/exit.ts";
import { forkSnapshot } from "../fork/fork.ts";
import { state } from "../fork/lineage.ts";
import type { Outcome } from "../fork/outcome.ts";
import type { TrialOptions } from "../options.ts";
import { describeStatus } from "../status.ts";

/** A trial's error as it crosses back to the parent. */
export interface TrialError {
  name: string;
  message: string;
  stack?: string;
}

/** What trial() returns: the value, or the error that says why there is none; and how the child ended. */
export type TrialResult<T> =
  | { ok: true; value: T; outcome: Outcome }
  | { ok: false; error: TrialError; outcome: Outcome };

// A plain description of anything thrown.
function describeThrown(e: unknown): TrialError {
  if (e instanceof Error) return { name: e.name, message: e.message, ...(e.stack ? { stack: e.stack } : {}) };
  return { name: "Error", message: `${messages.trialThrew()} a non-Error value: ${Bun.inspect(e)}` };
}

// In the child: send the value (or why it cannot be sent) and end.
function deliver(value: unknown): never {
  onChildEnd(undefined);
  const fd = state().toParent;
  let bytes: Uint8Array;
  try {
    bytes = serialize(value, { binaryType: "nodebuffer" });
  } catch (e) {
    sendError(fd, { name: "DataCloneError", message: messages.trialUncloneable(e instanceof Error ? e.message : String(e)) });
    return endChild(0);
  }
  sendValue(fd, bytes);
  return endChild(0);
}

// In the child: the function threw or its promise rejected. A nested trial's unwind marker
// passing through is not this trial's error: its own child is still running.
function fail(e: unknown): void {
  if (isUnwind(e)) return;
  onChildEnd(undefined);
  sendError(state().toParent, describeThrown(e));
  endChild(0);
}

// While a trial child waits for its promise, the unwind marker must not end it as uncaught.
function onUncaught(e: unknown): void {
  if (isUnwind(e)) return;
  if (process.listenerCount("uncaughtException") > 1) return;
  console.error(e);
  process.exit(1);
}

// While unwinding, the caller's own code runs in the child and may call process.exit (e.g. a
// `catch (e) { console.error(e); process.exit(1) }`): the exit waits for the trial to settle.
function deferringExit(code?: number | string | null): never {
  deferExit(Number(code ?? process.exitCode ?? 0) || 0);
  throw new SnapshotUnwind();
}

// The child's side: run fn; a promise that is still pending after the microtasks ran is awaited
// by the child's event loop, which the child reaches by unwinding the caller's stack.
function runChild(fn: () => unknown): never {
  let v: unknown;
  try {
    v = fn();
  } catch (e) {
    if (isUnwind(e)) throw e; // a nested trial's child unwinding through this one
    fail(e);
    throw e;
  }
  if (!(v !== null && (typeof v === "object" || typeof v === "function") && typeof (v as PromiseLike<unknown>).then === "function"))
    return deliver(v);
  const p = Promise.resolve(v);
  drainMicrotasks();
  const status = Bun.peek.status(p);
  if (status === "fulfilled") return deliver(Bun.peek(p));
  if (status === "rejected") {
    fail(Bun.peek(p));
    throw Bun.peek(p);
  }
  p.then(deliver, fail);
  process.on("uncaughtException", onUncaught);
  process.exit = deferringExit;
  // The loop ends with the promise still pending when nothing is left for it to wait on.
  onChildEnd(() => sendError(state().toParent, { name: "SnapshotError", message: messages.trialNeverSettled() }));
  throw new SnapshotUnwind();
}

/**
 * Runs `fn` in a snapshot child (awaiting it if it returns a promise) and returns its value
 * in the parent, synchronously, by structured clone; the parent's state is untouched. A throw,
 * an uncloneable value, a child that dies or one past `timeoutMs` gives `ok: false` with an
 * error saying which.
 */
export function trial<T>(fn: () => T | Promise<T>, options?: TrialOptions): TrialResult<T> {
  if (typeof fn !== "function") throw new SnapshotError("EINVAL", messages.badTrialFn(fn));
  if (options?.detached) throw new SnapshotError("EINVAL", messages.trialDetached());
  const r = forkSnapshot(options, { trial: true });
  if (r.role === "child") return runChild(fn);
  if ("exited" in r) throw new SnapshotError("EINVAL", messages.trialDetached());
  const { outcome, message, timedOut } = r;
  if (timedOut) return { ok: false, error: { name: "SnapshotError", message: messages.trialTimeout(options?.timeoutMs ?? 0) }, outcome };
  if (message.value) return { ok: true, value: takeValue(message, deserialize) as T, outcome };
  if (message.error) return { ok: false, error: message.error, outcome };
  return { ok: false, error: { name: "SnapshotError", message: messages.trialNoValue(describeStatus(outcome.status)) }, outcome };
}
