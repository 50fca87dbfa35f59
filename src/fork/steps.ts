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
import { finishRuntime, nativeRepair, plainRuntimeWrite, prepareRuntime, repairRuntime } from "../bun-internals/runtime.ts";
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
}

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
function check(c: ForkContext): Step {
  return {
    name: "check",
    prepare() {
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
}

// The child dies with its parent, even by SIGKILL (and at once if it already has), and reports
// its own pid, and its parent's: Bun caches process.pid on first read, Bun 1.2 process.ppid too
// (measured on 1.2.23: a child reported its grandparent).
function identity(c: ForkContext): Step {
  return {
    name: "identity",
    plan(p) {
      planWrite(p, process, "pid", CHILD_PID);
      if (PPID_CACHED) p.fast = false; // the ppid to set is a defineProperty, left to the hook
    },
    kernel() {
      setParentDeathSignal(SIGKILL);
      if (getppid() !== c.parentPid) kill(getpid(), SIGKILL);
    },
    child(native, dry) {
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
}

// Signals the waiting parent receives go to the child.
function signals(c: ForkContext): Step {
  let f: Forwarding;
  return {
    name: "signals",
    prepare: () => void (f = prepareForwarding(forwardedSignals(c.o))),
    undo: () => f.end(),
    plan: (p) => void p.signals.push(...f.saved()),
    kernel: () => f.restoreInChild(),
    parent() {
      if (ATTACH_DELAY_MS) Bun.sleepSync(ATTACH_DELAY_MS);
      f.attach(c.pid);
    },
    release: () => f.end(),
    finish: () => f.end(),
  };
}

// The child's own process group, and the terminal's foreground when it should have it (never
// a trial's: its parent may run on while it works).
function terminal(c: ForkContext): Step {
  let group = true;
  return {
    name: "terminal",
    prepare() {
      if (c.mode === "detached") return; // its own group, never the terminal
      c.terminal = planTerminal(c.mode === "trial" ? false : c.o.foreground);
      group = ownGroup(c.terminal);
    },
    plan(p) {
      if (group) p.flags |= F.GROUP | (c.terminal ? F.TERMINAL : 0);
    },
    kernel: () => void (group && childTakesTerminal(c.terminal)),
    parent: () => void (group && parentHandsTerminal(c.terminal, c.pid)),
    finish: () => void (c.terminal && parentTakesTerminalBack(c.terminal)),
  };
}

// What a waited-for child tells its parent (commit, revertTo, a trial's value).
function channel(c: ForkContext): Step {
  return {
    name: "channel",
    prepare() {
      c.channel = openChannel();
      c.keep.push(c.channel);
    },
    undo: () => close(c.channel),
    finish: () => void (c.message = receive(c.channel)),
  };
}

// A trial child says on this pipe that its function went async; the parent blocks on it until
// then, or until end of file (only the child holds the write end: it ended). The parent's
// event loop reads it to the end after an async word (as a detached child's exit pipe).
function saidPipe(c: ForkContext): Step {
  return {
    name: "said",
    prepare() {
      c.said = pipe();
      c.keep.push(c.said[1]);
    },
    undo() {
      close(c.said[0]);
      close(c.said[1]);
    },
    plan: (p) => void p.close.push(c.said[0]),
    kernel: () => close(c.said[0]),
    parent: () => close(c.said[1]),
  };
}

// A detached child holds the write end until it exits; the parent's event loop reads the other.
function exitPipe(c: ForkContext): Step {
  let write = -1;
  return {
    name: "exit-pipe",
    prepare() {
      [c.exitRead, write] = pipe();
      c.keep.push(write);
    },
    undo() {
      close(c.exitRead);
      close(write);
    },
    plan: (p) => void p.close.push(c.exitRead),
    kernel: () => close(c.exitRead),
    parent: () => close(write),
  };
}

// Connections handed over to a detached child (an attach session).
function handOver(c: ForkContext, fds: number[]): Step {
  return {
    name: "handover",
    prepare() {
      c.keep.push(...fds);
      c.handed.push(...fds);
    },
    parent: () => fds.forEach(letGo),
  };
}

// Who the child is: one more level in the chain, talking to its parent over the channel (and,
// in a trial, saying on its pipe that its function went async). The parent builds the child's
// whole state; the child swaps it in. The child does not hold its parent's channel to its own
// parent, nor a trial ancestor's pipe.
function lineage(c: ForkContext): Step {
  let next: State;
  const inherited = () => [state().toParent, state().said].filter((fd) => fd >= 0);
  return {
    name: "lineage",
    prepare() {
      next = childState(c.info, {
        toParent: c.channel,
        said: c.mode === "trial" ? c.said[1] : -1,
        exitHandlers: c.o.exitHandlers ?? "new",
        maxBytes: c.o.maxBytes ?? DEFAULT_MAX_BYTES,
        keep: c.handed,
      });
    },
    plan(p) {
      p.close.push(...inherited());
      p.writes.push(...stateWrites(next, CHILD_PID));
    },
    kernel: () => inherited().forEach(close),
    child: (native, dry) => enterState(next, native ? nativeOut()[OUT.PID]! | 0 : getpid(), dry),
  };
}

// How the child ends (flush and _exit, the exit listeners of the policy): the hooks are put in
// place right before the fork and taken back in the parent right after it.
function exit(): Step {
  let installed = false;
  const takeBack = () => {
    if (installed) removeExitHooks();
    installed = false;
  };
  return {
    name: "exit",
    prepare: () => void (installed = installExitHooks()),
    undo: takeBack,
    parent: takeBack,
    child: (_, dry) => void (dry && revertChild(0, REHEARSAL)), // the rehearsal of the child's end (revert)
  };
}

// The parent's kernel objects out of the child's reach.
function isolation(c: ForkContext): Step {
  const policy = () => isolationFor(c.mode, c.o.isolation);
  const keep = () => [...c.keep, ...state().keepFds];
  const deaf = c.mode === "trial";
  let after: (dry?: boolean) => void;
  return {
    name: "isolate",
    plan(p) {
      const o = policy();
      const kept = keep();
      p.flags |= isolationFlags(o, deaf);
      p.keep.push(...kept);
      after = afterNativeIsolation(p.result, o, kept, deaf);
      planWrite(p, ...plainIsolationWrite(p.result));
    },
    kernel: () => void isolate(policy(), keep(), c.registrations, deaf),
    child: (native, dry) => void (native && after(dry)),
  };
}

// Bun's helper threads made whole in the child, from what the parent read.
function runtime(c: ForkContext): Step {
  let prep: ReturnType<typeof prepareRuntime>;
  let after: (dry?: boolean) => void;
  return {
    name: "runtime",
    prepare() {
      c.threads = threads();
      prep = prepareRuntime(!c.native, c.threads);
    },
    plan(p) {
      planRepair(p, nativeRepair(prep));
      const result = () => repairResult(p.result);
      after = finishRuntime(prep, result);
      const w = plainRuntimeWrite(prep, result);
      if (w) planWrite(p, ...w);
      else p.fast = false;
    },
    kernel: () => repairRuntime(prep),
    child: (native, dry) => void (native && after(dry)),
  };
}

// Right before the fork: every mapping forkable.
function forkable(c: ForkContext): Step {
  return { name: "forkable", prepare: () => void (c.native || makeForkable()) };
}

// The registrations of every epoll instance, read right before the fork: the child rebuilds its
// instances from these, never from the shared instance the parent goes on changing.
function epoll(c: ForkContext): Step {
  return { name: "epoll", prepare: () => void (c.native || (c.registrations = allRegistrations())) };
}

// Last before the fork: helper threads asleep and not about to wake, Bun 1.2/1.3's scavenger
// parked until the fork is done. When it had to wait, helpers ran meanwhile (they may have
// mapped memory or changed a registration): both read again.
function quiet(c: ForkContext): Step {
  let parked = false;
  const unpark = () => {
    if (parked) unparkHelpers();
    parked = false;
  };
  return {
    name: "quiesce",
    prepare() {
      if (!QUIESCE) return;
      // The threads read by the runtime step, unless the JavaScript fork's reads ran since.
      const q = quiesce(undefined, c.native ? c.threads : undefined);
      parked = q.parked;
      if (!q.waited || c.native) return; // (the native fork reads both itself, after this)
      try {
        makeForkable();
        c.registrations = allRegistrations();
      } catch (e) {
        unpark();
        throw e;
      }
    },
    undo: unpark,
    // The parked thread is not in the child: the child's copy of the flags and of the handler's
    // disposition are cleared by the hook (so a parked fork is not a plain one); never in a rehearsal.
    plan(p) {
      if (parked) p.fast = false;
    },
    child: (_, dry) => void (dry || unpark()),
    parent: unpark,
  };
}

/** The steps of a blocking snapshot or a trial. */
export function blockingSteps(c: ForkContext): Step[] {
  const said = c.mode === "trial" ? [saidPipe(c)] : [];
  return [check(c), identity(c), signals(c), terminal(c), channel(c), ...said, exit(), lineage(c), isolation(c), runtime(c), forkable(c), epoll(c), quiet(c)];
}

/** The steps of a detached snapshot; `handed` are connections the child takes over. */
export function detachedSteps(c: ForkContext, handed: number[]): Step[] {
  return [check(c), identity(c), terminal(c), exitPipe(c), handOver(c, handed), exit(), lineage(c), isolation(c), runtime(c), forkable(c), epoll(c), quiet(c)];
}
