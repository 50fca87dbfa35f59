// The steps of a snapshot, in the order they run (see step.ts for what each hook means). A
// blocking snapshot: check, identity, signals, terminal, channel, exit, lineage, isolate,
// runtime, forkable, epoll, quiesce; a trial adds its "said" pipe after the channel. A detached
// one: check, identity, terminal, exit pipe, hand-over, exit, lineage, isolate, runtime,
// forkable, epoll, quiesce. The exit hooks come before the lineage, so that the "exit"
// listeners the child inherits include them, at every depth. The forkable memory, the epoll registrations and quiescence come
// last, right before the fork, so that nothing made before is left out of them; quiescence is
// the very last (what runs before it can wake a helper), and redoes the other two if it waited.
// With the native fork (native.ts) the forkable memory and the registrations are done by the
// fork call itself, after quiescence, and the child's kernel work by its plan.
import { finishRuntime, nativeRepair, plainRuntimeWrite, prepareRuntime, repairRuntime, type RuntimePrep } from "../bun-internals/runtime.ts";
import { pendingStdio } from "../bun-internals/stdio-sink.ts";
import { trackWorkers, unjoinedWorker } from "../bun-internals/workers.ts";
import { messages, SnapshotError } from "../errors.ts";
import { DEFAULT_MAX_BYTES, forwardedSignals, isolationFor, type Mode, type TrialOptions } from "../options.ts";
import { unsafeReason } from "../safe/mode.ts";
import { close, pipe } from "../sys/fd.ts";
import { getpid, getppid, kill, setParentDeathSignal, SIGKILL } from "../sys/process.ts";
import { openChannel, receive, type Message } from "./channel.ts";
import { installExitHooks, REHEARSAL, removeExitHooks, revertChild } from "./exit.ts";
import { makeForkable } from "./forkable.ts";
import { letGo } from "./handover.ts";
import { allRegistrations, isolate, type EpollRegistration } from "./isolate.ts";
import { afterNativeIsolation, isolationFlags, plainIsolationWrite } from "./isolate-native.ts";
import { childState, enterState, state, stateWrites, type SnapshotInfo, type State } from "./lineage.ts";
import { CHILD_PID, F, nativeOut, OUT, planRepair, planWrite, repairResult } from "./native.ts";
import { quiesce, unparkHelpers } from "./quiesce.ts";
import { threads, type ThreadInfo } from "../proc/threads.ts";
import { prepareForwarding, type Forwarding } from "./signals.ts";
import type { Step } from "./step.ts";
import { childTakesTerminal, ownGroup, parentHandsTerminal, parentTakesTerminalBack, planTerminal, type TerminalPlan } from "./terminal.ts";

/** What the steps of one snapshot share. */
export interface ForkContext {
  readonly mode: Mode;
  readonly o: TrialOptions;
  /** The new child's entry in the chain (its pid is added in the child). */
  readonly info: Omit<SnapshotInfo, "pid">;
  /** This process: the child's parent. */
  readonly parentPid: number;
  /** The child's pid, in the parent once forked. */
  pid: number;
  /** Descriptors the child keeps as they are (the channel or exit pipe, handed-over connections). */
  keep: number[];
  /** Every epoll registration of this process, read as the last thing before the fork. */
  registrations: EpollRegistration[];
  /** The channel of a waited-for child (-1 for a detached one). */
  channel: number;
  /** Connections a detached child takes over (kept as they are there and in its snapshots). */
  handed: number[];
  /** The read end of a detached child's exit pipe (-1 otherwise). */
  exitRead: number;
  /** A trial's pipe: the parent reads whether the function went async, the child writes (-1 otherwise). */
  said: [read: number, write: number];
  /** The terminal, when the child takes it; read by the wait for job control. */
  terminal: TerminalPlan | null;
  /** The fork is native (native.ts): the forkable memory, the registrations and the child's kernel work are its own. */
  native: boolean;
  /** This process's threads, read once while preparing (by the runtime step; quiescence looks at them first). */
  threads?: ThreadInfo[];
  /** What the child said, read once it has been reaped. */
  message?: Message;
  /** Connections handed to a detached child, as asked for (the hand-over step keeps them). */
  readonly handOver: readonly number[];
  /** The steps' own state for this snapshot: */
  /** the signal forwarding (signals); */
  forwarding?: Forwarding;
  /** whether the child gets its own process group (terminal); */
  group: boolean;
  /** whether the exit hooks were put in place here (exit); */
  exitHooks: boolean;
  /** the write end of a detached child's exit pipe (exit-pipe); */
  exitWrite: number;
  /** the child's whole state, built in the parent (lineage); */
  next?: State;
  /** what a native child does once isolated (isolate); */
  afterIsolation?: (dry?: boolean) => void;
  /** what the runtime repair read, and what a native child does once repaired (runtime); */
  runtimePrep?: RuntimePrep;
  afterRuntime?: (dry?: boolean) => void;
  /** whether Bun 1.2/1.3's scavenger is parked until after the fork (quiesce). */
  parked: boolean;
}

/** A context for one snapshot's steps: nothing prepared yet. */
export function forkContext(mode: Mode, o: Readonly<TrialOptions>, info: Omit<SnapshotInfo, "pid">, parentPid: number, native: boolean, handOver?: readonly number[] | null): ForkContext {
  return {
    mode, o, info, parentPid, native, handOver: handOver ?? NO_FDS,
    pid: -1, keep: [], registrations: [], channel: -1, handed: [], exitRead: -1, said: [-1, -1], terminal: null,
    group: true, exitHooks: false, exitWrite: -1, parked: false,
  };
}
const NO_FDS: readonly number[] = Object.freeze([]);

type ForkStep = Step<ForkContext>;

// Bun 1.2 reads the parent's pid once and keeps it (measured on 1.2.23: a child reported its
// grandparent); later releases read it each time.
const PPID_CACHED = Bun.version.startsWith("1.2.");

// BUN_SNAPSHOT_ATTACH_DELAY_MS: the parent waits this long after the fork before it forwards
// signals to the child (tests make a signal arrive in between, as a fast child can make happen).
const ATTACH_DELAY_MS = Number(process.env["BUN_SNAPSHOT_ATTACH_DELAY_MS"]) || 0;

// BUN_SNAPSHOT_QUIESCE=0 turns the wait for idle helper threads off (for measuring it).
const QUIESCE = process.env["BUN_SNAPSHOT_QUIESCE"] !== "0";

// Refuses a process that is not snapshot-safe, output a fork would print twice or lose, and a
// terminated Worker whose thread Bun has not joined yet.
const check: ForkStep = {
  name: "check",
  prepare(c) {
    if (!c.o.unsafe) {
      const why = unsafeReason();
      if (why) throw new SnapshotError("EUNSAFE", messages.unsafe(why));
    }
    const busy = pendingStdio();
    if (busy) throw new SnapshotError("EBUSY", messages.stdioBusy(busy.stream, busy.bytes));
    trackWorkers();
    const worker = unjoinedWorker();
    if (worker) throw new SnapshotError("EBUSY", messages.workerUnjoined(worker));
  },
};

// The child dies with its parent, even by SIGKILL (and at once if it already has), and reports
// its own pid, and its parent's: Bun caches process.pid on first read, Bun 1.2 process.ppid too
// (measured on 1.2.23: a child reported its grandparent).
const identity: ForkStep = {
  name: "identity",
  plan(_, p) {
    planWrite(p, process, "pid", CHILD_PID);
    if (PPID_CACHED) p.fast = false; // the ppid to set is a defineProperty, left to the hook
  },
  kernel(c) {
    setParentDeathSignal(SIGKILL);
    if (getppid() !== c.parentPid) kill(getpid(), SIGKILL);
  },
  child(c, native, dry) {
    const pid = native ? nativeOut()[OUT.PID]! | 0 : getpid(); // an int (see native.ts enterPlainly)
    if (dry) return;
    (process as { pid: number }).pid = pid;
    if (PPID_CACHED && process.ppid !== c.parentPid) {
      try {
        Object.defineProperty(process, "ppid", { value: c.parentPid, writable: true, configurable: true, enumerable: true });
      } catch {}
    }
  },
};

// Signals the waiting parent receives go to the child.
const signals: ForkStep = {
  name: "signals",
  prepare: (c) => void (c.forwarding = prepareForwarding(forwardedSignals(c.o))),
  undo: (c) => c.forwarding?.end(),
  plan: (c, p) => void p.signals.push(...c.forwarding!.saved()),
  kernel: (c) => c.forwarding!.restoreInChild(),
  parent(c) {
    if (ATTACH_DELAY_MS) Bun.sleepSync(ATTACH_DELAY_MS);
    c.forwarding!.attach(c.pid);
  },
  release: (c) => c.forwarding!.end(),
  finish: (c) => c.forwarding!.end(),
};

// The child's own process group, and the terminal's foreground when it should have it (never
// a trial's: its parent may run on while it works).
const terminal: ForkStep = {
  name: "terminal",
  prepare(c) {
    if (c.mode === "detached") return; // its own group, never the terminal
    c.terminal = planTerminal(c.mode === "trial" ? false : c.o.foreground);
    c.group = ownGroup(c.terminal);
  },
  plan(c, p) {
    if (c.group) p.flags |= F.GROUP | (c.terminal ? F.TERMINAL : 0);
  },
  kernel: (c) => void (c.group && childTakesTerminal(c.terminal)),
  parent: (c) => void (c.group && parentHandsTerminal(c.terminal, c.pid)),
  finish: (c) => void (c.terminal && parentTakesTerminalBack(c.terminal)),
};

// What a waited-for child tells its parent (commit, revertTo, a trial's value).
const channel: ForkStep = {
  name: "channel",
  prepare(c) {
    c.channel = openChannel();
    c.keep.push(c.channel);
  },
  undo: (c) => close(c.channel),
  finish: (c) => void (c.message = receive(c.channel)),
};

// A trial child says on this pipe that its function went async; the parent blocks on it until
// then, or until end of file (only the child holds the write end: it ended). The parent's
// event loop reads it to the end after an async word (as a detached child's exit pipe).
const saidPipe: ForkStep = {
  name: "said",
  prepare(c) {
    c.said = pipe();
    c.keep.push(c.said[1]);
  },
  undo(c) {
    close(c.said[0]);
    close(c.said[1]);
  },
  plan: (c, p) => void p.close.push(c.said[0]),
  kernel: (c) => close(c.said[0]),
  parent: (c) => close(c.said[1]),
};

// A detached child holds the write end until it exits; the parent's event loop reads the other.
const exitPipe: ForkStep = {
  name: "exit-pipe",
  prepare(c) {
    [c.exitRead, c.exitWrite] = pipe();
    c.keep.push(c.exitWrite);
  },
  undo(c) {
    close(c.exitRead);
    close(c.exitWrite);
  },
  plan: (c, p) => void p.close.push(c.exitRead),
  kernel: (c) => close(c.exitRead),
  parent: (c) => close(c.exitWrite),
};

// Connections handed over to a detached child (an attach session).
const handOver: ForkStep = {
  name: "handover",
  prepare(c) {
    c.keep.push(...c.handOver);
    c.handed.push(...c.handOver);
  },
  parent: (c) => c.handOver.forEach(letGo),
};

// The child does not hold its parent's channel to its own parent, nor a trial ancestor's pipe.
const inherited = () => [state().toParent, state().said].filter((fd) => fd >= 0);

// Who the child is: one more level in the chain, talking to its parent over the channel (and,
// in a trial, saying on its pipe that its function went async). The parent builds the child's
// whole state; the child swaps it in.
const lineage: ForkStep = {
  name: "lineage",
  prepare(c) {
    c.next = childState(c.info, {
      toParent: c.channel,
      said: c.mode === "trial" ? c.said[1] : -1,
      exitHandlers: c.o.exitHandlers ?? "new",
      maxBytes: c.o.maxBytes ?? DEFAULT_MAX_BYTES,
      keep: c.handed,
    });
  },
  plan(c, p) {
    p.close.push(...inherited());
    p.writes.push(...stateWrites(c.next!, CHILD_PID));
  },
  kernel: () => inherited().forEach(close),
  child: (c, native, dry) => enterState(c.next!, native ? nativeOut()[OUT.PID]! | 0 : getpid(), dry),
};

// How the child ends (flush and _exit, the exit listeners of the policy): the hooks are put in
// place right before the fork and taken back in the parent right after it.
function takeBackExitHooks(c: ForkContext): void {
  if (c.exitHooks) removeExitHooks();
  c.exitHooks = false;
}
const exit: ForkStep = {
  name: "exit",
  prepare: (c) => void (c.exitHooks = installExitHooks()),
  undo: takeBackExitHooks,
  parent: takeBackExitHooks,
  child: (_, __, dry) => void (dry && revertChild(0, REHEARSAL)), // the rehearsal of the child's end (revert)
};

// The parent's kernel objects out of the child's reach.
const policy = (c: ForkContext) => isolationFor(c.mode, c.o.isolation);
const kept = (c: ForkContext) => [...c.keep, ...state().keepFds];
const isolation: ForkStep = {
  name: "isolate",
  plan(c, p) {
    const o = policy(c);
    const keep = kept(c);
    const deaf = c.mode === "trial";
    p.flags |= isolationFlags(o, deaf);
    p.keep.push(...keep);
    c.afterIsolation = afterNativeIsolation(p.result, o, keep, deaf);
    planWrite(p, ...plainIsolationWrite(p.result));
  },
  kernel: (c) => void isolate(policy(c), kept(c), c.registrations, c.mode === "trial"),
  child: (c, native, dry) => void (native && c.afterIsolation!(dry)),
};

// Bun's helper threads made whole in the child, from what the parent read.
const runtime: ForkStep = {
  name: "runtime",
  prepare(c) {
    c.threads = threads();
    c.runtimePrep = prepareRuntime(!c.native, c.threads);
  },
  plan(c, p) {
    const prep = c.runtimePrep!;
    planRepair(p, nativeRepair(prep));
    const result = () => repairResult(p.result);
    c.afterRuntime = finishRuntime(prep, result);
    const w = plainRuntimeWrite(prep, result);
    if (w) planWrite(p, ...w);
    else p.fast = false;
  },
  kernel: (c) => repairRuntime(c.runtimePrep!),
  child: (c, native, dry) => void (native && c.afterRuntime!(dry)),
};

// Right before the fork: every mapping forkable.
const forkable: ForkStep = { name: "forkable", prepare: (c) => void (c.native || makeForkable()) };

// The registrations of every epoll instance, read right before the fork: the child rebuilds its
// instances from these, never from the shared instance the parent goes on changing.
const epoll: ForkStep = { name: "epoll", prepare: (c) => void (c.native || (c.registrations = allRegistrations())) };

// Last before the fork: helper threads asleep and not about to wake, Bun 1.2/1.3's scavenger
// parked until the fork is done. When it had to wait, helpers ran meanwhile (they may have
// mapped memory or changed a registration): both read again.
function unpark(c: ForkContext): void {
  if (c.parked) unparkHelpers();
  c.parked = false;
}
const quiet: ForkStep = {
  name: "quiesce",
  prepare(c) {
    if (!QUIESCE) return;
    // The threads read by the runtime step, unless the JavaScript fork's reads ran since.
    const q = quiesce(undefined, c.native ? c.threads : undefined);
    c.parked = q.parked;
    if (!q.waited || c.native) return; // (the native fork reads both itself, after this)
    try {
      makeForkable();
      c.registrations = allRegistrations();
    } catch (e) {
      unpark(c);
      throw e;
    }
  },
  undo: unpark,
  // The parked thread is not in the child: the child's copy of the flags and of the handler's
  // disposition are cleared by the hook (so a parked fork is not a plain one); never in a rehearsal.
  plan(c, p) {
    if (c.parked) p.fast = false;
  },
  child: (c, _, dry) => void (dry || unpark(c)),
  parent: unpark,
};

const BLOCKING: readonly ForkStep[] = [check, identity, signals, terminal, channel, exit, lineage, isolation, runtime, forkable, epoll, quiet];
const TRIAL: readonly ForkStep[] = [check, identity, signals, terminal, channel, saidPipe, exit, lineage, isolation, runtime, forkable, epoll, quiet];
const DETACHED: readonly ForkStep[] = [check, identity, terminal, exitPipe, handOver, exit, lineage, isolation, runtime, forkable, epoll, quiet];

/** The steps of a snapshot of `mode`, in the order they run (one list per mode, made once). */
export function stepsFor(mode: Mode): readonly ForkStep[] {
  return mode === "detached" ? DETACHED : mode === "trial" ? TRIAL : BLOCKING;
}
