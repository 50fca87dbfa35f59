// How a snapshot child ends: always through flush + _exit, never through Bun's own shutdown,
// which can wait forever for helper threads that do not exist in a child (FORK-IN-BUN §2).
import { flushStdio } from "../bun-internals/stdio-sink.ts";
import { messages } from "../errors.ts";
import { decodeStatus } from "../status.ts";
import { exitNow, reraise } from "../sys/process.ts";
import { state } from "./lineage.ts";

let ending = false;

// Runs the "exit" listeners the policy allows, in order; one that throws is reported, not fatal.
function runListeners(listeners: Function[], code: number): void {
  const s = state();
  const all = s.committed || s.exitHandlers === "all";
  for (const l of listeners) {
    if (l === onExit || (!all && s.inheritedExit.has(l))) continue;
    try {
      l.call(process, code);
    } catch (e) {
      console.error(messages.exitListenerThrew(), e);
    }
  }
}

/** Flushes stdio and ends this process now with `code`. */
export function finish(code: number): never {
  flushStdio();
  return exitNow(code);
}

// First "exit" listener of a child: Bun is ending it; run the allowed listeners, then _exit.
function onExit(code: number): void {
  if (ending) finish(code);
  ending = true;
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

/** Sets up how this child ends; runs in child setup, before any user code. */
export function installExitHooks(policy: "new" | "all"): void {
  const s = state();
  s.exitHandlers = policy;
  s.inheritedExit = new Set(process.listeners("exit"));
  ending = false;
  if (!process.listeners("exit").includes(onExit)) {
    process.prependListener("exit", onExit);
    process.on("unhandledRejection", onRejection);
  }
}

/** Ends this child now with `code`, running the allowed "exit" listeners first (revert). */
export function endChild(code: number): never {
  if (!ending) {
    ending = true;
    runListeners(process.listeners("exit"), code);
  }
  return finish(code);
}

/**
 * Ends this process with the same wait status as a child that ended with `status`. With
 * `listeners`, the "exit" listeners the policy allows run first (a snapshot unwound by
 * revertTo); without, none do (an ancestor replaced by a committed line).
 */
export function endAs(status: number, listeners = false): never {
  const s = decodeStatus(status);
  if (listeners && !ending) {
    ending = true;
    runListeners(process.listeners("exit"), s.kind === "exited" ? s.code : s.kind === "signaled" ? 128 + s.signo : 1);
  }
  flushStdio();
  if (s.kind === "signaled") return reraise(s.signo);
  return exitNow(s.kind === "exited" ? s.code : 1);
}
