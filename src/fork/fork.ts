// The fork protocol: validate -> prepare each step (undone if one fails) -> fork -> the child's
// steps | the parent's steps, then (blocking) wait -> finish each step -> outcome -> act on what
// the child said (commit, revertTo). The steps themselves are in steps.ts.
import { join } from "node:path";
import { validate, type Mode, type TrialOptions } from "../options.ts";
import { assertSupported } from "../sys/ffi.ts";
import { fork as cFork, getpid } from "../sys/process.ts";
import { useLibcRtmin } from "../sys/signal.ts";
import { sendCommit, sendRevertTo, type Message } from "./channel.ts";
import { watchDetached, type DetachedChild } from "./detached.ts";
import { endAs } from "./exit.ts";
import { depth, state, type SnapshotInfo } from "./lineage.ts";
import { makeOutcome, type Outcome } from "./outcome.ts";
import { prepareAll, undoAll } from "./step.ts";
import { blockingSteps, detachedSteps, type ForkContext } from "./steps.ts";
import { stopTogether } from "./terminal.ts";
import { waitChild } from "./wait.ts";

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

/** How a caller inside the package asks for a snapshot beyond its options. */
export interface ForkRequest {
  /** A trial's snapshot (its options may hold timeoutMs; its isolation defaults are a trial's). */
  trial?: boolean;
  /** Connections a detached child takes over from this process (an attach session's). */
  handOver?: number[];
}

// The package's own source, whose frames are left out of a snapshot's stack.
const SRC = join(import.meta.dir, "..");

// The caller's stack, without the frames of this package.
function callerStack(): string {
  const lines = (new Error("snapshot taken here").stack ?? "").split("\n");
  return [lines[0], ...lines.slice(1).filter((l) => !l.includes(SRC))].join("\n");
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
export function forkSnapshot(o: TrialOptions = {}, req: ForkRequest = {}): ChildSide | ParentSide | DetachedChild {
  assertSupported();
  useLibcRtmin();
  const mode: Mode = o?.detached ? "detached" : req.trial ? "trial" : "blocking";
  validate(o, mode);
  const info: Omit<SnapshotInfo, "pid"> = { depth: depth() + 1, ...(o.label === undefined ? {} : { label: o.label }), takenAt: Date.now(), stack: callerStack() };
  if (mode === "detached") info.detached = true;
  const c: ForkContext = { mode, o, info, parentPid: getpid(), pid: -1, keep: [], registrations: [], channel: -1, exitRead: -1, terminal: null };
  const steps = mode === "detached" ? detachedSteps(c, req.handOver ?? []) : blockingSteps(c);
  prepareAll(steps);
  const t0 = performance.now();
  try {
    c.pid = cFork();
  } catch (e) {
    undoAll(steps);
    throw e;
  }
  if (c.pid === 0) {
    for (const s of steps) s.child?.();
    return { role: "child", depth: depth(), parentPid: c.parentPid };
  }
  for (const s of steps) s.parent?.();
  if (mode === "detached") return watchDetached(c.pid, c.exitRead, t0);
  const plan = c.terminal;
  const { status, timedOut } = waitChild(c.pid, o.timeoutMs, plan ? () => stopTogether(plan, c.pid) : undefined);
  const outcome = makeOutcome(c.pid, status, performance.now() - t0);
  state().lastOutcome = outcome;
  for (const s of [...steps].reverse()) s.finish?.();
  const message = c.message ?? { commit: false };
  obey(message, status);
  return { role: "parent", pid: c.pid, outcome, message, timedOut };
}

