// How a snapshot child ends: always through flush + _exit, never through Bun's own shutdown,
// which can wait forever for helper threads that do not exist in a child (FORK-IN-BUN §2).
import { flushStdio } from "../bun-internals/stdio-sink.ts";
import { messages, SnapshotError } from "../errors.ts";
import { assertSupported } from "../sys/ffi.ts";
import { decodeStatus } from "../status.ts";
import { exitNow, reraise } from "../sys/process.ts";
import { depth, state } from "./lineage.ts";

// 1 once this child is ending. A typed array, not a variable (see native.ts MADE): a child's
// first store to it runs no invalidation.
const ENDING = new Uint8Array(1);

// Runs the "exit" listeners the policy allows, in order; one that throws is reported, not fatal.
// `dry`: a rehearsal (see endChild), nothing runs.
function runListeners(listeners: Function[], code: number, dry = false): void {
  const s = state();
  const all = s.committed || s.exitHandlers === "all";
  if (dry) return;
  for (const l of listeners) {
    if (l === onExit || (!all && s.inheritedExit.has(l))) continue;
    try {
      l.call(process, code);
    } catch (e) {
      console.error(messages.exitListenerThrew(), e);
    }
  }
}

/** Flushes stdio and ends this process now with `code` (`dry`: a rehearsal, returns at once). */
export function finish(code: number, dry = false): never {
  flushStdio(dry);
  return exitNow(code, dry);
}

// First "exit" listener of a child: Bun is ending it; run the allowed listeners, then _exit.
function onExit(code: number): void {
  if (ENDING[0]) finish(code);
  ENDING[0] = 1;
  const listeners = process.listeners("exit");
  runListeners(listeners.slice(listeners.indexOf(onExit) + 1), code);
  finish(code);
}

// Bun's default for an unhandled rejection ends the process with code 1 but tells "exit"
// listeners 0; with this listener the child keeps that default and ends with the right code.
function onRejection(reason: unknown): void {
  if (process.listenerCount("unhandledRejection") > 1) return;
  console.error(reason);
  process.exit(1);
}

/**
 * Sets up how a child ends: installed right before the fork (the child is born with it) and, in
 * the parent, removed right after it (removeExitHooks), before any of the parent's own code runs.
 * Returns false when this process has it already (it is a snapshot child itself).
 */
export function installExitHooks(): boolean {
  if (process.listeners("exit").includes(onExit)) return false;
  process.prependListener("exit", onExit);
  process.on("unhandledRejection", onRejection);
  return true;
}

/** Takes back what installExitHooks() added. */
export function removeExitHooks(): void {
  process.removeListener("exit", onExit);
  process.removeListener("unhandledRejection", onRejection);
}

/** The token of a rehearsal of revert(): only this package has it. */
export const REHEARSAL: unique symbol = Symbol("rehearsal");

/**
 * revert(code) itself (api/snapshot.ts exports this function, so that a parent about to fork can
 * rehearse it: a function first called in the child is compiled there, on copy-on-write pages).
 * Ends this snapshot with `code`; throws ENOTSNAPSHOT at depth 0 and EINVAL for a code that is
 * not 0-255. With `rehearsal` (REHEARSAL), throws nothing and returns.
 */
export function revertChild(code = 0, rehearsal?: typeof REHEARSAL): never {
  const dry = rehearsal === REHEARSAL;
  assertSupported();
  const outside = depth() === 0;
  const bad = !Number.isInteger(code) || code < 0 || code > 255;
  if (!dry && outside) throw new SnapshotError("ENOTSNAPSHOT", messages.notInSnapshot("revert"));
  if (!dry && bad) throw new SnapshotError("EINVAL", messages.badExitCode(code));
  return endChild(code, dry);
}

/**
 * Ends this child now with `code`, running the allowed "exit" listeners first (revert). With
 * `dry`, in a parent about to fork: a rehearsal that changes nothing and returns, so that a child
 * ending at once runs compiled code (see Step.child).
 */
export function endChild(code: number, dry = false): never {
  if (!ENDING[0]) {
    ENDING[0] = dry ? 0 : 1;
    // Nothing to run (the common case: no listener added in this child, the "new" policy) is
    // known without copying the list.
    const s = state();
    const none = !s.committed && s.exitHandlers === "new" && process.listenerCount("exit") <= s.inheritedExit.size;
    if (!none || dry) runListeners(process.listeners("exit"), code, dry);
  }
  return finish(code, dry);
}

/**
 * Ends this process with the same wait status as a child that ended with `status`. With
 * `listeners`, the "exit" listeners the policy allows run first (a snapshot unwound by
 * revertTo); without, none do (an ancestor replaced by a committed line).
 */
export function endAs(status: number, listeners = false): never {
  const s = decodeStatus(status);
  if (listeners && !ENDING[0]) {
    ENDING[0] = 1;
    runListeners(process.listeners("exit"), s.kind === "exited" ? s.code : s.kind === "signaled" ? 128 + s.signo : 1);
  }
  flushStdio();
  if (s.kind === "signaled") return reraise(s.signo);
  return exitNow(s.kind === "exited" ? s.code : 1);
}
