// The fork protocol: check -> prepare (forkable memory, quiet stdio, channel) -> fork ->
// child setup | parent wait -> outcome -> act on what the child said (commit, revertTo).
import { openChannel, receive, sendCommit, sendRevertTo, type Message } from "./channel.ts";
import { endAs, installExitHooks } from "./child/exit.ts";
import { isolate, registrationsOf, type IsolationOptions } from "./child/isolate.ts";
import { fixIdentity, prepareRuntime, repairRuntime, type RuntimePrep } from "./child/runtime.ts";
import { messages, SnapshotError } from "./errors.ts";
import { assertSupported, close, fork as cFork, getpid, getppid, kill, pipe, setParentDeathSignal, SIGKILL } from "./libc.ts";
import { watchDetached, type DetachedChild } from "./detached.ts";
import { depth, state, type SnapshotInfo } from "./lineage.ts";
import { makeForkable } from "./memory.ts";
import { makeOutcome, type Outcome } from "./outcome.ts";
import { unsafeReason } from "./safe.ts";
import { signalNumber } from "./status.ts";
import { quiesce } from "./quiesce.ts";
import { DEFAULT_FORWARD, prepareForwarding } from "./signals.ts";
import { childTakesTerminal, ownGroup, parentHandsTerminal, parentTakesTerminalBack, planTerminal, stopTogether } from "./terminal.ts";
import { pendingStdio } from "./stdio.ts";
import { waitChild } from "./wait.ts";

/** Options of snapshot(), fork() and trial(). */
export interface SnapshotOptions {
  /** A name for this snapshot, shown by snapshots(), the REPL and tools. */
  label?: string;
  /**
   * Signals the waiting parent passes to the child (default SIGTERM, SIGHUP, SIGINT, SIGQUIT,
   * SIGUSR1, SIGUSR2). After the child ends the parent acts on those it received as it would have
   * without the snapshot, except SIGINT, which belonged to the child. `[]` forwards none.
   */
  forward?: NodeJS.Signals[];
  /**
   * The child gets its own process group and the terminal's foreground, so Ctrl+C reaches only it;
   * the parent takes the terminal back, with its settings, when the child ends (default: stdin is a TTY).
   */
  foreground?: boolean;
  /** Which process "exit" listeners run as the child ends: those added in the child ("new", default) or "all". */
  exitHandlers?: "new" | "all";
  /** Fork even where a healthy child cannot be guaranteed (a process that is not snapshot-safe). */
  unsafe?: boolean;
  /** What the child does with what it inherited: files, connections, listeners, databases (see IsolationOptions). */
  isolation?: IsolationOptions;
  /**
   * Do not wait: fork() returns at once in the parent with `{ role: "parent", pid, exited, kill }`
   * while its event loop keeps running. The child does not accept connections on inherited
   * listeners unless `isolation.listeners` says "accept"; no signals are forwarded to it and it
   * never takes the terminal. It still dies with its parent.
   */
  detached?: boolean;
}

/** The result of fork(): which side of the snapshot this is. */
export type Fork =
  | { role: "child"; depth: number; parentPid: number }
  | { role: "parent"; pid: number; outcome: Outcome };

/** What the protocol hands to fork() and trial() in the parent. */
export interface ParentSide {
  role: "parent";
  pid: number;
  outcome: Outcome;
  message: Message;
  timedOut: boolean;
}

// BUN_SNAPSHOT_QUIESCE=0 turns the wait for idle helper threads off (for measuring it).
const QUIESCE = process.env.BUN_SNAPSHOT_QUIESCE !== "0";

// Rejects bad options with EINVAL before anything happens.
function validate(o: SnapshotOptions & { timeoutMs?: number }): void {
  if (o === null || typeof o !== "object") throw new SnapshotError("EINVAL", messages.badOption("options", o, "an object"));
  if (o.label !== undefined && typeof o.label !== "string") throw new SnapshotError("EINVAL", messages.badOption("label", o.label, "a string"));
  if (o.exitHandlers !== undefined && o.exitHandlers !== "new" && o.exitHandlers !== "all")
    throw new SnapshotError("EINVAL", messages.badOption("exitHandlers", o.exitHandlers, '"new" or "all"'));
  if (o.forward !== undefined && (!Array.isArray(o.forward) || o.forward.some((s) => signalNumber(s) === undefined)))
    throw new SnapshotError("EINVAL", messages.badOption("forward", o.forward, "an array of signal names such as SIGTERM"));
  for (const k of ["foreground", "unsafe", "detached"] as const)
    if (o[k] !== undefined && typeof o[k] !== "boolean") throw new SnapshotError("EINVAL", messages.badOption(k, o[k], "a boolean"));
  validateIsolation(o.isolation);
  if (o.timeoutMs !== undefined && !(typeof o.timeoutMs === "number" && o.timeoutMs > 0 && o.timeoutMs <= 2 ** 31 - 1))
    throw new SnapshotError("EINVAL", messages.badOption("timeoutMs", o.timeoutMs, "a positive number of milliseconds"));
}

// The values each isolation setting takes.
const ISOLATION = { files: ["own", "shared"], connections: ["cut", "shared"], listeners: ["accept", "closed"], databases: ["readonly", "writable"] } as const;

// Rejects an isolation option that is not an object of known settings with known values.
function validateIsolation(i: unknown): void {
  if (i === undefined) return;
  if (i === null || typeof i !== "object") throw new SnapshotError("EINVAL", messages.badOption("isolation", i, "an object"));
  for (const [k, v] of Object.entries(i)) {
    const allowed = (ISOLATION as Record<string, readonly string[]>)[k];
    if (!allowed) throw new SnapshotError("EINVAL", messages.badOption("isolation", k, `settings among ${Object.keys(ISOLATION).join(", ")}`));
    if (v !== undefined && !allowed.includes(v as string)) throw new SnapshotError("EINVAL", messages.badOption(`isolation.${k}`, v, allowed.map((a) => JSON.stringify(a)).join(" or ")));
  }
}

// The caller's stack, without the frames of this package.
function callerStack(): string {
  const lines = (new Error("snapshot taken here").stack ?? "").split("\n");
  const here = import.meta.dir;
  return [lines[0], ...lines.slice(1).filter((l) => !l.includes(here))].join("\n");
}

// The fork itself, after the helper threads are quiet and all memory forkable (last, so that no
// mapping made before is left out); `undo` runs when fork() fails. In the child, first of all:
// killed at once if the parent dies, even by SIGKILL (and if it already has, now).
function forkNow(undo: () => void): number {
  if (QUIESCE) quiesce();
  makeForkable();
  const parentPid = getpid();
  let pid: number;
  try {
    pid = cFork();
  } catch (e) {
    undo();
    throw e;
  }
  if (pid === 0) {
    setParentDeathSignal(SIGKILL);
    if (getppid() !== parentPid) kill(getpid(), SIGKILL);
  }
  return pid;
}

// A detached snapshot: the child holds the write end of a pipe until it exits; the parent's
// event loop reads the other end and reaps the child when it sees end of file.
// `keep` are descriptors the child keeps as they are (an attach connection).
function forkDetached(o: SnapshotOptions, info: Omit<SnapshotInfo, "pid">, keep: number[]): ChildSide | DetachedChild {
  const prep = prepareRuntime();
  // The parent hands kept connections over and drops its own watch of them once forked; the
  // child must register them in its own epoll whatever the shared instance says by then.
  state().registrationsAtFork = keep.length ? registrationsOf(keep) : undefined;
  const [exitRead, exitWrite] = pipe();
  const t0 = performance.now();
  const pid = forkNow(() => {
    close(exitRead);
    close(exitWrite);
  });
  if (pid === 0) {
    close(exitRead);
    childTakesTerminal(null);
    const isolation: IsolationOptions = { listeners: "closed", ...o.isolation };
    return setupChild({ ...info, detached: true }, -1, { ...o, isolation }, prep, [exitWrite, ...keep]);
  }
  close(exitWrite);
  parentHandsTerminal(null, pid);
  return watchDetached(pid, exitRead, t0);
}

type ChildSide = Extract<Fork, { role: "child" }>;

// Child setup, in this order, before any user code: identity, lineage, how it ends, the
// parent's kernel objects out of reach (isolate), Bun's runtime made whole (runtime).
function setupChild(info: Omit<SnapshotInfo, "pid">, channel: number, o: SnapshotOptions, prep: RuntimePrep, keep: number[] = []): Extract<Fork, { role: "child" }> {
  fixIdentity();
  const s = state();
  const parentPid = s.chain[s.chain.length - 1]!.pid;
  if (s.toParent >= 0) close(s.toParent); // our parent's channel to its own parent
  s.toParent = channel;
  s.chain.push({ ...info, pid: getpid() });
  s.committed = false;
  delete s.lastOutcome;
  installExitHooks(o.exitHandlers ?? "new");
  isolate(o.isolation, [channel, ...keep, ...(s.keepFds ?? [])]);
  repairRuntime(prep);
  return { role: "child", depth: depth(), parentPid };
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

/** Takes a snapshot: in the child returns its side at once; in the parent, once the child ended. */
export function forkSnapshot(o: SnapshotOptions & { timeoutMs?: number } = {}, keep: number[] = []): Extract<Fork, { role: "child" }> | ParentSide | DetachedChild {
  assertSupported();
  validate(o);
  if (!o.unsafe) {
    const why = unsafeReason();
    if (why) throw new SnapshotError("EUNSAFE", messages.unsafe(why));
  }
  const busy = pendingStdio();
  if (busy) throw new SnapshotError("EBUSY", messages.stdioBusy(busy));
  const info: Omit<SnapshotInfo, "pid"> = { depth: depth() + 1, label: o.label, takenAt: Date.now(), stack: callerStack() };
  if (info.label === undefined) delete info.label;
  if (o.detached) return forkDetached(o, info, keep);
  const channel = openChannel();
  const prep = prepareRuntime();
  const terminal = planTerminal(o.foreground);
  const group = ownGroup(terminal);
  const forwarding = prepareForwarding(o.forward ?? DEFAULT_FORWARD);
  const t0 = performance.now();
  const pid = forkNow(() => {
    close(channel);
    forwarding.end();
  });
  if (pid === 0) {
    forwarding.restoreInChild();
    if (group) childTakesTerminal(terminal);
    return setupChild(info, channel, o, prep);
  }
  forwarding.attach(pid);
  if (group) parentHandsTerminal(terminal, pid);
  const { status, timedOut } = waitChild(pid, o.timeoutMs, terminal ? () => stopTogether(terminal, pid) : undefined);
  const outcome = makeOutcome(pid, status, performance.now() - t0);
  if (terminal) parentTakesTerminalBack(terminal);
  const message = receive(channel);
  state().lastOutcome = outcome;
  forwarding.end();
  obey(message, status);
  return { role: "parent", pid, outcome, message, timedOut };
}
