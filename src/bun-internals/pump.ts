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
let warmed = false;

/**
 * Once per process, in a parent that takes trials: runs the macro once with a plain value (no
 * event loop runs for it), so that Bun's macro machinery is set up here and every trial child
 * inherits it instead of setting it up on copy-on-write pages (measured: the first macro call of
 * a process 0.4-0.6 ms, later ones 0.05 ms). Bun drains the microtask queue around a macro call,
 * so this runs as a microtask of its own: what it drains would have run right after it anyway,
 * in the same order.
 */
export function warmLoop(): void {
  if (warmed) return;
  warmed = true;
  queueMicrotask(() => {
    const g = globalThis as Record<symbol, unknown>;
    const before = g[KEY];
    g[KEY] = () => 0;
    try {
      new Bun.Transpiler({ loader: "js" }).transformSync(SOURCE);
    } catch {
    } finally {
      g[KEY] = before;
    }
  });
}

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
