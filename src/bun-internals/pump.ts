// A trial child's event loop without returning to the caller. trial() is called from user code
// (a request handler, a test, a REPL line); when its function returns a pending promise, the
// child must run its event loop for it, but may neither return nor throw into that code. Bun has
// one synchronous call that runs the event loop in place: a macro run by Bun.Transpiler that
// returns a promise is waited for (the transpiler ticks timers, I/O and immediates until it
// settles). The child calls it and never comes back: the promise's own handlers end it.
//
// Relies on (Bun 1.2.23, 1.3.14, 1.4.5): transformSync() runs macros of an in-memory source, and waits for a
// promise by running the event loop in macro mode: the same timers, sockets and epoll, but a
// task queue of its own, so work started before it (a file read, a fetch) never completes
// there. The function therefore runs inside the macro, from its first line. Proven at run time:
// when the macro never ran it, or the call returns with the promise pending, the caller learns
// it and fails the trial with a clear error instead.
import { join } from "node:path";
import { voluntarySwitches } from "../proc/threads.ts";
import "./pump-macro.ts"; // in the module registry before any fork: the child loads nothing

const MACRO = join(import.meta.dir, "pump-macro.ts");
const KEY = Symbol.for("bun-snapshot.pump");
// An idle check every TICK ms; this many in a row without the thread ever sleeping is a loop
// with nothing left to wait on: Bun's nested loop spins instead of returning.
const TICK = 100;
const SPINS = 10;

// The call that runs the macro (one line of source importing pump-macro.ts).
const SOURCE = `import { pump } from ${JSON.stringify(MACRO)} with { type: "macro" };\npump();`;
// The parent never runs the macro (there was a warm-up of it, once per process after a first trial,
// so that children inherited its set-up): a macro call runs Bun's event loop with a task queue of
// its own, and what reaches the app meanwhile is lost: a signal (measured on 1.4.5: 11-19 of 40
// SIGUSR1 handled while macro calls took half the time, 40 of 40 without), and on Bun 1.2/1.3
// work of the pool that completes (9 of 50 calls lost one of three reads in flight on 1.3.14; a
// stream's open never reaching the app, which then waited forever). Each trial child sets it up
// itself (~420 page faults before its function runs instead of ~210: ~1 ms).

// Calls onIdle once the nested loop has only spun (never slept) for SPINS checks in a row
// (`dry`: a rehearsal, watches nothing).
function watchIdle(onIdle: () => void, dry = false): ReturnType<typeof setInterval> | undefined {
  let last = voluntarySwitches();
  if (dry) return undefined;
  let due = performance.now() + TICK;
  let spins = 0;
  const idle = setInterval(() => {
    const now = performance.now();
    const sw = voluntarySwitches();
    // On time and never slept since the last check: only the nested loop ran.
    spins = sw === last && sw >= 0 && now - due < TICK / 2 ? spins + 1 : 0;
    last = sw;
    due = now + TICK;
    if (spins >= SPINS) onIdle();
  }, TICK);
  idle.unref();
  return idle;
}

const zero = () => 0;

/** What runInLoop() saw: whether the macro ran `start`, and whether its promise settled. */
export interface LoopRun {
  started: boolean;
  settled: boolean;
}

/**
 * Calls `start` inside Bun's nested event loop and runs the loop until the promise it returns
 * settles (normally its handlers end the process first, and this never returns). `onIdle` is
 * called when nothing is left that could settle it (the loop only spins).
 */
export function runInLoop(start: () => Promise<unknown>, onIdle: () => void, dry = false): LoopRun {
  const run: LoopRun = { started: false, settled: false };
  let p: Promise<unknown> | undefined;
  let idle: ReturnType<typeof setInterval> | undefined;
  const enter = () => {
    run.started = true;
    p = start(); // (a plain value ends the process in there: the watch below is for promises only)
    idle = watchIdle(onIdle, dry);
    return p?.then(zero, zero);
  };
  // A rehearsal in a parent about to fork (a trial's): what the child runs first, compiled here
  // (`start` rehearses too); no loop, no macro, nothing watched.
  if (dry) {
    enter();
    zero();
    return run;
  }
  (globalThis as Record<symbol, unknown>)[KEY] = enter;
  try {
    new Bun.Transpiler({ loader: "js" }).transformSync(SOURCE);
  } catch {
  } finally {
    if (idle) clearInterval(idle);
  }
  run.settled = p !== undefined && Bun.peek.status(p) !== "pending";
  return run;
}
