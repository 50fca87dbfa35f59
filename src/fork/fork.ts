// The fork protocol: validate -> prepare each step (undone if one fails) -> fork -> the child's
// steps | the parent's steps, then (blocking) wait -> finish each step -> outcome -> act on what
// the child said (commit, revertTo). A trial's parent first waits for its child to say whether
// its function went async: if so it releases the wait and its event loop does the rest. The
// steps themselves are in steps.ts.
import { join } from "node:path";
import { NO_OPTIONS, validate, type Mode, type TrialOptions } from "../options.ts";
import { assertSupported, nativeFork } from "../sys/ffi.ts";
import { close } from "../sys/fd.ts";
import { fork as cFork, getpid } from "../sys/process.ts";
import { useLibcRtmin } from "../sys/signal.ts";
import { kill, SIGKILL } from "../sys/process.ts";
import { sendCommit, sendRevertTo, type Message } from "./channel.ts";
import { watchDetached, type DetachedChild } from "./detached.ts";
import { endAs } from "./exit.ts";
import { depth, state, type SnapshotInfo } from "./lineage.ts";
import { makeOutcome, type Outcome } from "./outcome.ts";
import { allRegistrations } from "./isolate.ts";
import { makeForkable } from "./forkable.ts";
import { emptyPlan, enterPlainly, fits, forkWith, madeInJs, type NativePlan } from "./native.ts";
import { prepareAll, undoAll, type Step } from "./step.ts";
import { forkContext, stepsFor, type ForkContext } from "./steps.ts";
import { stopTogether } from "./terminal.ts";
import { waitChild, waitSaid, type WaitResult } from "./wait.ts";

/** The result of fork(): which side of the snapshot this is. */
export type Fork =
  | { role: "child"; depth: number; parentPid: number }
  | { role: "parent"; pid: number; outcome: Outcome };

/** The child's side of any snapshot. */
export type ChildSide = Extract<Fork, { role: "child" }>;

/** What the protocol hands to fork() and trial() in a waiting parent. */
export interface ParentSide {
  role: "parent";
  pid: number;
  outcome: Outcome;
  message: Message;
  timedOut: boolean;
}

/** A trial whose function went async: the parent's side, once its child has ended. */
export interface PendingSide {
  role: "parent";
  pid: number;
  later: Promise<ParentSide>;
  /** Signals the child while it runs; false once it has been reaped (never signals a reaped pid). */
  kill(signal?: NodeJS.Signals | number): boolean;
}

/** How a caller inside the package asks for a snapshot beyond its options. */
export interface ForkRequest {
  /** A trial's snapshot (its options may hold timeoutMs; its isolation defaults are a trial's). */
  trial?: boolean;
  /** Connections a detached child takes over from this process (an attach session's). */
  handOver?: number[];
}

// No request, as one object (read only), not a new one per snapshot.
const NO_REQUEST: ForkRequest = Object.freeze({});

// The package's own source, whose frames are left out of a snapshot's stack.
const SRC = join(import.meta.dir, "..");

// The caller's stack, without the frames of this package, as text.
function stackText(where: Error): string {
  const lines = (where.stack ?? "").split("\n");
  return [lines[0], ...lines.slice(1).filter((l) => !l.includes(SRC))].join("\n");
}

// Where a snapshot was taken, as its entry's `stack`: the frames are captured now (cheap), the
// text is made the first time it is read (measured: making it right after a fork wrote 40 more
// pages, each a page fault, every snapshot), then kept as a plain property.
function withStack<T extends object>(entry: T): T & { stack: string } {
  const where = new Error("snapshot taken here");
  return Object.defineProperty(entry, "stack", {
    configurable: true,
    enumerable: true,
    get(this: object) {
      const stack = stackText(where);
      Object.defineProperty(this, "stack", { value: stack, writable: true, configurable: true, enumerable: true });
      return stack;
    },
  }) as T & { stack: string };
}

// The parent acts on what its child said, after passing the word up: a commit ends this
// process with the child's status (the committed line replaces it); a revertTo deeper than
// this depth ends it the same way after its own exit listeners, as any snapshot that ends.
function obey(message: Message, status: number): void {
  const s = state();
  const d = depth();
  if (message.commit) {
    if (d > 0) sendCommit(s.toParent);
    endAs(status);
  } else if (message.revertTo !== undefined && message.revertTo < d) {
    sendRevertTo(s.toParent, message.revertTo);
    endAs(status, true);
  }
}

/**
 * Takes a snapshot: in the child returns its side at once; in a waiting parent, once the child
 * has ended; in a detached parent, at once with its handle. A refused call (bad options, a
 * process that is not snapshot-safe, a step or the fork failing) has undone what it prepared.
 */
export function forkSnapshot(o: TrialOptions = NO_OPTIONS, req: ForkRequest = NO_REQUEST): ChildSide | ParentSide | DetachedChild | PendingSide {
  assertSupported();
  useLibcRtmin();
  const mode: Mode = o?.detached ? "detached" : req.trial ? "trial" : "blocking";
  validate(o, mode);
  const info: Omit<SnapshotInfo, "pid"> = withStack({ depth: depth() + 1, ...(o.label === undefined ? {} : { label: o.label }), takenAt: Date.now() });
  if (mode === "detached") info.detached = true;
  const shim = nativeFork();
  const c = forkContext(mode, o, info, getpid(), shim !== null, req.handOver);
  const steps = stepsFor(mode);
  // What the child returns, made here: an object literal first run in the child would be built there.
  const childSide: ChildSide = { role: "child", depth: info.depth, parentPid: c.parentPid };
  prepareAll(steps, c);
  let native = false;
  let plan: NativePlan;
  const t0 = performance.now();
  try {
    if (shim) {
      plan = emptyPlan(c.parentPid, mode !== "detached");
      for (const s of steps) s.plan?.(c, plan);
    }
    native = shim !== null && fits(plan!);
    if (native) {
      // The child's code, compiled here (see Step.child).
      enterPlainly(plan!, true);
      for (const s of steps) s.child?.(c, true, true);
    }
    if (shim && !native) {
      // Too large for the native tables (hundreds of kept descriptors): the steps run in JS.
      makeForkable();
      c.registrations = allRegistrations();
    }
    c.pid = native ? forkWith(shim!, plan!) : cFork();
  } catch (e) {
    undoAll(steps, c);
    throw e;
  }
  if (c.pid === 0) {
    if (!native) {
      madeInJs();
      for (const s of steps) s.kernel?.(c);
    }
    if (!native || !enterPlainly(plan!)) for (const s of steps) s.child?.(c, native);
    return childSide;
  }
  for (const s of steps) s.parent?.(c);
  if (mode === "detached") return watchDetached(c.pid, c.exitRead, t0);
  let waited: WaitResult;
  if (mode === "trial") {
    const said = waitSaid(c.said[0], o.timeoutMs);
    if (said.kind === "async") {
      for (const s of steps) s.release?.(c);
      const child = watchDetached(c.pid, c.said[0], t0);
      return { role: "parent", pid: c.pid, later: settleLater(c, steps, child, said.msLeft), kill: child.kill };
    }
    close(c.said[0]);
    if (said.kind === "timeout") kill(c.pid, SIGKILL); // not reaped yet: still our child
    waited = { status: waitChild(c.pid).status, timedOut: said.kind === "timeout" };
  } else {
    const plan = c.terminal;
    waited = waitChild(c.pid, o.timeoutMs, plan ? () => stopTogether(plan, c.pid) : undefined);
  }
  return ended(c, steps, makeOutcome(c.pid, waited.status, performance.now() - t0), waited.timedOut);
}

// The parent once its child has been reaped: finish each step, act on what the child said.
function ended(c: ForkContext, steps: readonly Step<ForkContext>[], outcome: Outcome, timedOut: boolean): ParentSide {
  state().lastOutcome = outcome;
  for (let i = steps.length - 1; i >= 0; i--) steps[i]!.finish?.(c);
  const message = c.message ?? { commit: false };
  obey(message, outcome.status);
  return { role: "parent", pid: c.pid, outcome, message, timedOut };
}

// An async trial's parent: its event loop watches the child as a detached one's (reading the
// said pipe to its end, then reaping), killing it at the time limit.
async function settleLater(c: ForkContext, steps: readonly Step<ForkContext>[], child: DetachedChild, msLeft?: number): Promise<ParentSide> {
  let timedOut = false;
  const limit = msLeft === undefined ? undefined : setTimeout(() => (timedOut = child.kill(SIGKILL)), msLeft);
  const outcome = await child.exited;
  clearTimeout(limit);
  return ended(c, steps, outcome, timedOut);
}

